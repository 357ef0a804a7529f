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
)


def _normalise(name: str) -> str:
    return " ".join(name.casefold().replace("_", " ").replace("-", " ").split())


def names_for(track_name: str) -> TrackNames | None:
    """The curated names of a game's track, or None when there are none."""
    wanted = _normalise(track_name)
    return next((t for t in CORNER_NAMES if wanted in t.names), None)


def name_corner(names: TrackNames, apex_m: float) -> str | None:
    """The name of the corner whose apex lies within NAME_NEAR_M of `apex_m`, if any."""
    near = [c for c in names.corners if abs(c.apex_m - apex_m) <= NAME_NEAR_M]
    return min(near, key=lambda c: abs(c.apex_m - apex_m)).name if near else None
