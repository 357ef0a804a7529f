"""Track tables shared by the agent and the server: corners, sectors and an approximate map.

Distances run along the lap from the start/finish line, in metres. The geometry is an
approximation good enough to draw a recognisable map and drive the demo car: a list of bends
(heading change, racing-line radius) joined by straights, integrated into a closed centreline.
Nothing here imports Django.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Final


@dataclass(frozen=True)
class Corner:
    """A named section of a track; distances in metres from the start/finish line."""

    name: str
    start_m: float  # where the braking zone (or the section) begins
    apex_m: float  # slowest point through it
    end_m: float  # where the car is back on full throttle / the section ends


@dataclass(frozen=True)
class Bend:
    """One curve of the approximate centreline."""

    centre_m: float
    angle_deg: float  # heading change: + left, - right
    radius_m: float  # racing-line radius at the tightest point
    name: str = ""  # the Corner this bend belongs to, "" if unnamed


@dataclass(frozen=True)
class TrackInfo:
    """A track: its length, named corners in lap order and sector ends."""

    key: str
    name: str
    length_m: float
    corners: tuple[Corner, ...]
    sectors: tuple[float, ...]  # distance at which each sector ends; the last is length_m
    centreline: tuple[tuple[float, float, float], ...] | None = None  # (x, y, z) every step, m
    centreline_step_m: float = 10.0
    aliases: tuple[str, ...] = ()
    bends: tuple[Bend, ...] = field(default=(), repr=False)
    elevation: tuple[tuple[float, float], ...] = field(default=(), repr=False)  # (dist, height) m
    start_heading_deg: float = 0.0  # world heading at the line, counter-clockwise from +x

    def corner(self, name: str) -> Corner | None:
        """The corner called `name` (case-insensitive), or None."""
        wanted = name.casefold()
        return next((c for c in self.corners if c.name.casefold() == wanted), None)

    def sector_at(self, dist_m: float) -> int:
        """0-based sector index of a lap distance."""
        for i, end in enumerate(self.sectors):
            if dist_m < end:
                return i
        return len(self.sectors) - 1


@dataclass(frozen=True)
class Path:
    """The centreline sampled every `step_m`: curvature (1/m, + left), heading and position."""

    step_m: float
    curvature: list[float]
    heading: list[float]  # radians, counter-clockwise from +x
    x: list[float]  # m, world east
    y: list[float]  # m, height relative to the line
    z: list[float]  # m, world north


def _ramp_m(bend: Bend) -> float:
    # Curvature builds up and fades over a transition (a clothoid-like ramp) at each end.
    return min(0.3 * math.radians(abs(bend.angle_deg)) * bend.radius_m, 30.0)


def bend_extent(bend: Bend) -> tuple[float, float, float]:
    """(start, full-curvature length, ramp length) of a bend, in metres along the lap."""
    ramp = _ramp_m(bend)
    arc = math.radians(abs(bend.angle_deg)) * bend.radius_m
    # The two ramps together turn as much as one ramp length at full curvature.
    full = arc - ramp
    return bend.centre_m - full / 2 - ramp, full, ramp


def _curvature(bends: tuple[Bend, ...], length_m: float, step_m: float) -> list[float]:
    n = int(round(length_m / step_m))
    kappa = [0.0] * (n + 1)
    for bend in bends:
        start, full, ramp = bend_extent(bend)
        k = math.copysign(1.0 / bend.radius_m, bend.angle_deg)
        for i in range(max(0, int(start / step_m)), min(n, int((start + full + 2 * ramp) / step_m) + 1) + 1):
            u = i * step_m - start
            if u < 0 or u > full + 2 * ramp:
                continue
            weight = min(1.0, u / ramp, (full + 2 * ramp - u) / ramp) if ramp > 0 else 1.0
            kappa[i] += k * weight
    return kappa


def _height(knots: tuple[tuple[float, float], ...], dist_m: float) -> float:
    # Cosine easing between knots: smooth slopes and no overshoot above or below the knots.
    for (d0, h0), (d1, h1) in zip(knots, knots[1:], strict=False):
        if d0 <= dist_m <= d1:
            f = (1 - math.cos(math.pi * (dist_m - d0) / (d1 - d0))) / 2
            return h0 + f * (h1 - h0)
    return knots[-1][1] if dist_m > knots[-1][0] else knots[0][1]


def trace_path(track: TrackInfo, step_m: float = 1.0) -> Path:
    """Integrate the track's bends into a closed centreline sampled every `step_m` metres.

    Rounding in the bend table leaves the raw loop a little open; the gap is spread evenly
    along the lap so the last point meets the first.
    """
    kappa = _curvature(track.bends, track.length_m, step_m)
    n = len(kappa) - 1
    turn = sum(kappa[1:]) * step_m
    # Spread any heading residual so the loop turns exactly one full clockwise/anticlockwise turn.
    full_turn = math.copysign(2 * math.pi, turn)
    kappa = [k + (full_turn - turn) / track.length_m for k in kappa]
    heading = [math.radians(track.start_heading_deg)]
    xs, zs = [0.0], [0.0]
    for i in range(1, n + 1):
        h_mid = heading[-1] + kappa[i] * step_m / 2
        xs.append(xs[-1] + math.cos(h_mid) * step_m)
        zs.append(zs[-1] + math.sin(h_mid) * step_m)
        heading.append(heading[-1] + kappa[i] * step_m)
    gap_x, gap_z = xs[-1] - xs[0], zs[-1] - zs[0]
    xs = [x - gap_x * i / n for i, x in enumerate(xs)]
    zs = [z - gap_z * i / n for i, z in enumerate(zs)]
    ys = [_height(track.elevation, i * step_m) for i in range(n + 1)] if track.elevation else [0.0] * (n + 1)
    return Path(step_m, kappa, heading, xs, ys, zs)


# --------------------------------------------------------------------------- Spa-Francorchamps
# Bend positions and heading changes follow the real circuit (clockwise, 7004 m); radii are
# racing-line radii that put a GT3 at its usual apex speeds. Chicanes (Les Combes, the Bus
# Stop) turn less on the racing line than on the centreline, which is what the angles give.
_SPA_BENDS: Final = (
    Bend(396, -148, 24.0, "La Source"),
    Bend(660, -20, 700.0),  # the gentle right on the descent to Eau Rouge
    Bend(1027, 18, 207.2, "Eau Rouge"),
    Bend(1160, -46, 188.6, "Raidillon"),
    Bend(1300, 20, 196.0, "Raidillon"),  # the crest
    Bend(1608, -14, 700.0, "Kemmel"),  # the kink: flat out
    Bend(2415, -61, 72.8, "Les Combes"),
    Bend(2520, 59, 76.9, "Les Combes"),
    Bend(2655, -71, 82.1),  # Malmedy
    Bend(3074, -185, 38.3, "Bruxelles"),  # the Rivage hairpin
    Bend(3306, 78, 64.7),  # the left after Rivage
    Bend(3493, -6, 700.0),
    Bend(3833, 77, 134.3, "Pouhon"),
    Bend(4053, 74, 122.9, "Pouhon"),
    Bend(4522, -85, 84.2),  # Fagnes
    Bend(4675, 75, 87.4),  # Fagnes
    Bend(4954, -94, 84.2, "Campus"),
    Bend(5175, -76, 116.1, "Stavelot"),
    Bend(5369, -24, 196.3),  # Paul Frere
    Bend(5583, -17, 225.1),
    Bend(5900, 39, 231.3),  # the first, faster part of Blanchimont
    Bend(6198, 45, 217.8, "Blanchimont"),
    Bend(6508, -14, 700.0),
    Bend(6745, -60, 26.8, "Bus Stop"),
    Bend(6800, 87, 34.3, "Bus Stop"),
)

# Height above the line, m: down from La Source to the Eau Rouge dip, up Raidillon and the
# Kemmel straight to Les Combes (the top), down past Pouhon to Stavelot (the bottom), then the
# long climb back through Blanchimont.
_SPA_ELEVATION: Final = (
    (0.0, 0.0),
    (400.0, 3.0),
    (1000.0, -37.0),
    (1280.0, -2.0),
    (2350.0, 40.0),
    (2700.0, 32.0),
    (3100.0, 15.0),
    (3800.0, -10.0),
    (4200.0, -30.0),
    (4600.0, -38.0),
    (5000.0, -55.0),
    (5250.0, -62.0),
    (5550.0, -58.0),
    (6200.0, -30.0),
    (6750.0, -8.0),
    (7004.0, 0.0),
)

_SPA_CORNERS: Final = (
    Corner("La Source", 230.0, 396.0, 450.0),
    Corner("Eau Rouge", 960.0, 1027.0, 1070.0),
    Corner("Raidillon", 1070.0, 1160.0, 1345.0),
    Corner("Kemmel", 1345.0, 1608.0, 2220.0),  # the straight, with its flat-out kink
    Corner("Les Combes", 2220.0, 2415.0, 2575.0),
    Corner("Bruxelles", 2895.0, 3074.0, 3155.0),  # the Rivage hairpin
    Corner("Pouhon", 3680.0, 4053.0, 4150.0),
    Corner("Campus", 4820.0, 4954.0, 5040.0),
    Corner("Stavelot", 5060.0, 5175.0, 5270.0),
    Corner("Blanchimont", 6080.0, 6198.0, 6300.0),
    Corner("Bus Stop", 6555.0, 6745.0, 6840.0),
)


def _spa() -> TrackInfo:
    base = TrackInfo(
        key="spa",
        name="Spa-Francorchamps",
        length_m=7004.0,
        corners=_SPA_CORNERS,
        sectors=(2230.0, 5300.0, 7004.0),
        aliases=("spa", "circuit de spa-francorchamps"),  # "_", "-" and case do not matter
        bends=_SPA_BENDS,
        elevation=_SPA_ELEVATION,
        start_heading_deg=122.0,  # the pit straight runs north-west towards La Source
    )
    path = trace_path(base, step_m=base.centreline_step_m)
    points = tuple(
        (round(x, 2), round(y, 2), round(z, 2)) for x, y, z in zip(path.x, path.y, path.z, strict=True)
    )
    return replace(base, centreline=points)


SPA: Final = _spa()
TRACKS: Final[dict[str, TrackInfo]] = {SPA.key: SPA}


def _normalise(name: str) -> str:
    return " ".join(name.casefold().replace("_", " ").replace("-", " ").split())


@cache
def _alias_index() -> dict[str, TrackInfo]:
    return {_normalise(alias): t for t in TRACKS.values() for alias in (t.key, t.name, *t.aliases)}


def track_lookup(name: str) -> TrackInfo | None:
    """The track table for a game's track name ("spa", "Spa-Francorchamps", ...), or None."""
    return _alias_index().get(_normalise(name))
