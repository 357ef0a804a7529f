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
        ),
    ),
    TrackNames(
        # Lime Rock Park in Assetto Corsa, layout "chicane" (the same 2 342 m lap as the Grand
        # Prix recording above; Lime Rock's optional chicanes are at the Uphill and at West
        # Bend, and this recording brakes hard only at the Uphill). Apexes: median over the 16
        # whole laps of crewchief/session_1673613558_df.csv.gz (Mazda MX-5 Cup). The MX-5 takes
        # West Bend and the Downhill flat: no dip there, so no entry.
        names=("rt lime rock park:chicane", "lime rock park chicane"),
        length_m=2342.0,
        corners=(
            NamedApex("Big Bend", 421.0),
            NamedApex("Lefthander", 688.0),
            NamedApex("Uphill", 1210.0),
        ),
        sources=(
            "http://www.limerockclub.com/lime-rock-park/turn-by-turn.html (Big Bend and the corners after it)",
            "http://blog.axisofoversteer.com/2005/11/lets-go-for-few-laps-around-lime-rock.html (the Esses left and right, Uphill)",
            "http://rfactor.net/web/rf2/tracks/lime-rock-park/ (four layouts: no chicanes, all chicanes, Uphill chicane, West Bend chicane)",
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
