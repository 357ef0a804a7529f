"""Corner names of tracks the agent has no full table for (tracks.py has Spa's): curated facts.

Names, and their order round the lap, are public facts from the sources given per track. The
distances are ours: the slowest point of each corner measured on a real recording of the
track (named per track), in metres from the start/finish line. The server names a detected
corner after the entry whose apex is within NAME_NEAR_M of its own; a corner with no entry
near keeps its number (T1, T2, ... by lap order). An admin can rename any corner per
instance (Track.corners in the admin). Nothing here imports Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

NAME_NEAR_M: Final = 120.0
# Crew Chief's per-game corner landmarks (GPL-3 data; read, not copied): where a corner lies,
# in the game's own lap distance. Used to check our measured apexes and which dip is which.
CREW_CHIEF_LANDMARKS: Final = (
    "https://github.com/mrbelowski/CrewChiefV4/blob/master/CrewChiefV4/trackLandmarksData.json"
)


@dataclass(frozen=True)
class NamedApex:
    name: str
    apex_m: float


@dataclass(frozen=True)
class TrackNames:
    names: tuple[str, ...]  # the games' track names that mean this layout (normalised, see lookup)
    length_m: float
    corners: tuple[NamedApex, ...]
    sources: tuple[str, ...]


CORNER_NAMES: Final[tuple[TrackNames, ...]] = (
    TrackNames(
        # Circuit de Nevers Magny-Cours, Grand Prix layout (4.41 km). Names in lap order:
        # Grande Courbe (flat out), Estoril, Golf (flat out), Adélaïde, Nürburgring, 180°,
        # Imola, Château d’Eau, Lycée. Apexes measured on the iRacing recording
        # crewchief/session_1681021274_df.csv.gz (SOURCES.md); the flat-out bends have none.
        names=("magnycours gp", "magny cours gp", "magny cours", "circuit de nevers magny cours"),
        length_m=4411.0,
        corners=(
            NamedApex("Estoril", 760.0),
            NamedApex("Adélaïde", 1835.0),
            NamedApex("180°", 2700.0),
            NamedApex("Imola", 3435.0),
            NamedApex("Château d’Eau", 3621.0),
            NamedApex("Lycée", 4230.0),
        ),
        sources=(
            "https://en.wikipedia.org/wiki/Circuit_de_Nevers_Magny-Cours (layout and corner names)",
            "https://fr.wikipedia.org/wiki/Circuit_de_Nevers_Magny-Cours (virages: Estoril, Adélaïde, 180°, Imola, Château d'Eau, Lycée)",
        ),
    ),
    TrackNames(
        # Road America (6.515 km, 14 turns, unchanged since 1955). Official turn numbers, with
        # the names the track's own corners carry: the Carousel (Turns 9-10), the Kink (11),
        # Canada Corner (12). Turns 2 and 4 are flat-out bends with no apex; Turns 9 and 10
        # make one long dip. Apexes: the median over the 17 whole laps of the Automobilista 2
        # recording crewchief/session_1683388042_df.csv.gz (Reynard 95i; the game measures the
        # lap as 6 440 m). Turn 7 dips on 3 of 17 laps, the Kink on 2 (taken nearly flat).
        names=("road america:road america rc", "road america rc", "road america"),
        length_m=6440.0,
        corners=(
            NamedApex("Turn 1", 647.0),
            NamedApex("Turn 3", 1117.0),
            NamedApex("Turn 5", 2307.0),
            NamedApex("Turn 6", 2604.0),
            NamedApex("Turn 7", 2861.0),
            NamedApex("Turn 8", 3252.0),
            NamedApex("Carousel", 3675.0),
            NamedApex("Kink", 4298.0),
            NamedApex("Canada Corner", 5102.0),
            NamedApex("Turn 13", 5447.0),
            NamedApex("Turn 14", 5753.0),
        ),
        sources=(
            "http://cryer.org.uk/Road_America (Wikipedia copy: 6.515 km, 14 turns, Grand Prix course since 1955)",
            "https://sportscardigest.com/road-america/ (Hurry Downs, the Carousel, the Kink, Canada Corner, Thunder Valley)",
            "https://www.nascar.com/news-media/2021/07/01/road-america-turn-by-turn-analysis/ (turns 1-14 in order; Turns 2 and 4 kinks)",
            "https://www.lubbockonline.com/story/sports/2016/06/26/tight-turns-long-straights-road-america-rewards-precision/14907272007/ (Carousel, then the Kink)",
            "https://midwestfieroclubs.aaca.com/toms-corner-taming-road-america (Turn 14 to Turn 1 4 405 ft, Turn 1 to Turn 3 1 561 ft: our apexes are 1 334 m and 470 m apart)",
            CREW_CHIEF_LANDMARKS
            + " (Road_America: every apex here lies inside its landmark, e.g. turn5 2257-2379 m, canada_corner 5044-5189)",
        ),
    ),
    TrackNames(
        # Lime Rock Park, the 1.5-mile layout as iRacing's Grand Prix (Garage 61 export). In lap
        # order: Big Bend (right, two apexes), the Lefthander and the Righthander (the Esses:
        # one dip, its slowest point in the left), No Name Straight, the Uphill, West Bend, the
        # Downhill onto the main straight. Apexes measured on garage61/"Garage 61 - Master
        # Lonn - Ray FF1600 - Lime Rock Park (Grand Prix) - 00.57.444 - ….csv" (one lap, 2 342 m
        # by its lap distance); the steering at each apex agrees with the corner's direction.
        names=(
            "lime rock park grand prix",
            "lime rock park",
            "lime rock",
            "limerock gp",
            "limerock 2019 gp",
            "lime rock park gp",
            "limerock full",
        ),
        length_m=2342.0,
        corners=(
            NamedApex("Big Bend", 414.0),
            NamedApex("Lefthander", 634.0),
            NamedApex("Uphill", 1194.0),
            NamedApex("West Bend", 1566.0),
            NamedApex("Downhill", 1970.0),
        ),
        sources=(
            "http://www.limerockclub.com/lime-rock-park/turn-by-turn.html (Big Bend; a 180 right, one left, then rights)",
            "http://blog.axisofoversteer.com/2005/11/lets-go-for-few-laps-around-lime-rock.html (Big Bend, the Esses left and right, No Name Straight, Uphill, West Bend, Downhill)",
            "https://phildev.lapmeta.com/pt/track/variation/144 (Big Bend, Lefthander-Righthander, No Name Straight, Uphill, West Bend, Downhill)",
            CREW_CHIEF_LANDMARKS
            + " (limerock full: big_bend 190-500 m, lefthander 550-725, uphill 1145-1360, west_bend 1510-1700, downhill 1830-2050)",
        ),
    ),
    TrackNames(
        # Lime Rock Park in Assetto Corsa, layout "chicane": the Uphill Chicane layout (the same
        # 2 342 m lap as the Grand Prix recording above; of Lime Rock's two optional chicanes,
        # at the Uphill and at West Bend, this recording brakes hard only at the Uphill, and
        # Crew Chief's landmarks put the uphill chicane at 1 145-1 360 m). Apexes: median over
        # the 16 whole laps of crewchief/session_1673613558_df.csv.gz (Mazda MX-5 Cup). The MX-5
        # takes West Bend and the Downhill flat: no dip there, so no entry.
        names=("rt lime rock park:chicane", "lime rock park chicane", "limerock chicane"),
        length_m=2342.0,
        corners=(
            NamedApex("Big Bend", 421.0),
            NamedApex("Lefthander", 688.0),
            NamedApex("Uphill Chicane", 1210.0),
        ),
        sources=(
            "http://www.limerockclub.com/lime-rock-park/turn-by-turn.html (Big Bend and the corners after it)",
            "http://blog.axisofoversteer.com/2005/11/lets-go-for-few-laps-around-lime-rock.html (the Esses left and right, Uphill)",
            "http://rfactor.net/web/rf2/tracks/lime-rock-park/ (four layouts: no chicanes, all chicanes, Uphill chicane, West Bend chicane)",
            CREW_CHIEF_LANDMARKS
            + " (Lime Rock Park -- Uphill Chicane: big_bend, lefthander, righthander, uphill_chicane, west_bend, downhill)",
        ),
    ),
    TrackNames(
        # Michelin Raceway Road Atlanta, full course (4.088 km, 12 turns; 10a-10b the 1996
        # chicane). Turn 2 and the Turn 5 exit of the Esses, Turns 11 and 12 are taken without a
        # dip in this lap. Apexes measured on garage61/sample_lap.csv.gz (one iRacing lap,
        # 4 056 m by its lap distance); the steering at each agrees with its direction (3
        # right, 4 left in the Esses, 10a left).
        names=(
            "road atlanta",
            "roadatlanta full",
            "michelin raceway road atlanta",
            "road atlanta full course",
        ),
        length_m=4056.0,
        corners=(
            NamedApex("Turn 1", 464.0),
            NamedApex("Turn 3", 821.0),
            NamedApex("Turn 4", 1418.0),
            NamedApex("Turn 6", 1964.0),
            NamedApex("Turn 7", 2137.0),
            NamedApex("Turn 10a", 3482.0),
        ),
        sources=(
            "https://iracing.com/tracks/road-atlanta (12 turns: the Esses, Turn 6 then the tight Turn 7, the 10a-10b chicane, Turn 11, Turn 12)",
            "https://www.allenbergracingschools.com/expert-advice/road-atlanta-corner-by-corner/ (Turn 1, Turn 2 a set-up for Turn 3)",
            "https://roadracingworld.com/news/racer-kris-turner-reviews-new-track-changes-at-road-atlanta (Turn Three, Turn Four in the Esses)",
        ),
    ),
    TrackNames(
        # Autodromo Enzo e Dino Ferrari, Imola (4.909 km, the layout without the Variante Bassa),
        # Assetto Corsa Competizione. Named in lap order: the Tamburello chicane, the Villeneuve
        # chicane, Tosa, Piratella, Acque Minerali (its slow second part), the Variante Alta and
        # Rivazza's two lefts. Measured on acc/Imola-porsche_991ii_gt3_r-2-2021.12.02-21.13.58.ld:
        # ACC wrote no lap markers and the lap distance is integrated speed from the pit box, so
        # the line is placed where the recording ends (it stops on the line at 233 km/h: the
        # landmarks of Crew Chief agree within 30 m for every corner), one lap of 4 877 m
        # (integrated; the apexes repeat 4 854-4 887 m apart) after the out-lap's crossing.
        # Each apex is the mean of the out-lap's and the flying lap's (within 25 m of each other).
        names=(
            "imola",
            "imola gp",
            "autodromo enzo e dino ferrari",
            "autodromo internazionale enzo e dino ferrari",
        ),
        length_m=4877.0,
        corners=(
            NamedApex("Tamburello", 724.0),
            NamedApex("Villeneuve", 1454.0),
            NamedApex("Tosa", 1710.0),
            NamedApex("Piratella", 2340.0),
            NamedApex("Acque Minerali", 2867.0),
            NamedApex("Variante Alta", 3403.0),
            NamedApex("Rivazza 1", 4141.0),
            NamedApex("Rivazza 2", 4267.0),
        ),
        sources=(
            "http://www.maserati.com/maseraticorse/en/en/index/archive/2012/superstars/races/imola-2012/circuit.html (Tamburello chicane, Villeneuve chicane, Tosa, Piratella, the double Acque Minerali, Variante Alta, Rivazza's two lefts)",
            "https://www.guidarepilotare.com/autodromo-imola/ (the same corners in lap order)",
            "https://sport.sky.it/formula-1/2020/10/28/formula-1-gp-emilia-romagna-imola-2020-guida (the Variante Bassa removed: flat from Rivazza to Tamburello)",
            CREW_CHIEF_LANDMARKS
            + " (imola: tamburello 660-910 m, tosa 1640-1760, piratella 2250-2380, rivazza_2 4190-4270)",
        ),
    ),
    TrackNames(
        # Circuit de Barcelona-Catalunya as in Assetto Corsa Competizione (4.655 km, the layout
        # with the Turn 14-15 chicane). Official turn numbers; Turn 9 is Campsa. Turns 2, 6, 8, 11,
        # 15 and 16 have no dip of their own in a GT3. Measured on
        # acc/Barcelona-bmw_m4_gt3-3-2024.06.12-18.40.53.ld: one flying lap, line to line (it
        # starts and ends at 218.3 km/h), 4 581 m by integrated speed; ACC did not mark it.
        names=("barcelona",),
        length_m=4581.0,
        corners=(
            NamedApex("Turn 1", 869.0),
            NamedApex("Turn 3", 1148.0),
            NamedApex("Turn 4", 1741.0),
            NamedApex("Turn 5", 2124.0),
            NamedApex("Turn 7", 2539.0),
            NamedApex("Campsa", 2877.0),
            NamedApex("Turn 10", 3473.0),
            NamedApex("Turn 12", 3707.0),
            NamedApex("Turn 13", 3987.0),
            NamedApex("Turn 14", 4108.0),
        ),
        sources=(
            "http://richlandf1.com/?p=22174 (16 turns: turn 1, turn 5, the turn 6 kink, the turn 7-8 chicane, turn 9 Campsa, the turn 10 hairpin, turn 11 kink)",
            "https://realsport101.com/article/f1-2020-spanish-grand-prix-track-guide-my-team-career-time-trial-alonso-fernando-renault-mercedes-hamilton-ferrari-sainz-mclaren-setup-strategy-braking-turning-point-zone-how-to (turns 1-5)",
            "http://boxautos.com/?p=8902 (the final corner's chicane)",
            CREW_CHIEF_LANDMARKS
            + " (Barcelona_Catalunya:GP: turn1 765-875 m ... turn10 3420-3525, turn14 4095-4140)",
        ),
    ),
    TrackNames(
        # Bristol Motor Speedway (0.533 mi oval). By convention an oval's ends are Turns 1-2
        # (after the start/finish line) and Turns 3-4; each end is one long dip. Apexes measured
        # on iracing/trucks_silverado2019_bristol_2025-11-06_17-39-03.ibt (the game's lap is
        # 828 m): Turns 1-2 at 200-201 m on both whole laps; Turns 3-4 dip enough to count on
        # lap 171 only (635 m), so the best lap's set may hold Turns 1-2 alone.
        names=("bristol", "bristol motor speedway", "bristol motor speedway dual pit road"),
        length_m=828.0,
        corners=(
            NamedApex("Turns 1-2", 200.0),
            NamedApex("Turns 3-4", 635.0),
        ),
        sources=(
            "https://www.iracing.com/tracks/bristol-motor-speedway/ (half-mile oval, two 300-yard corners, pits on both straights)",
            "https://osracing.net/bristol-motor-speedway/ (turns one and two, four turns)",
            "https://www.jumbotickets.com/events/event-3837 (pit road entered in turn two, through turns three and four)",
            CREW_CHIEF_LANDMARKS
            + " (Bristol Motor Speedway: turn1 45-195 m, turn2 196-345, turn3 455-622, turn4 623-790)",
        ),
    ),
)


def _normalise(name: str) -> str:
    # "Lime Rock Park (Grand Prix)" as typed on an import form is "lime rock park grand prix".
    for mark in "_-()":
        name = name.replace(mark, " ")
    return " ".join(name.casefold().split())


def names_for(track_name: str) -> TrackNames | None:
    """The curated names of a game's track, or None when there are none."""
    wanted = _normalise(track_name)
    return next((t for t in CORNER_NAMES if wanted in t.names), None)


def name_corner(names: TrackNames, apex_m: float, lap_length_m: float | None = None) -> str | None:
    """The name of the corner whose apex lies within NAME_NEAR_M of `apex_m`, if any.

    Games measure the same lap differently (Road America is 6 440 m in Automobilista 2, 6 515 m
    on paper): given the lap's own length, the apex is scaled onto the entry's before comparing.
    """
    if lap_length_m and lap_length_m > 0:
        apex_m = apex_m * names.length_m / lap_length_m
    near = [c for c in names.corners if abs(c.apex_m - apex_m) <= NAME_NEAR_M]
    return min(near, key=lambda c: abs(c.apex_m - apex_m)).name if near else None
