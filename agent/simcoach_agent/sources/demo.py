"""The demo car: a simulated Mercedes-AMG GT3 lapping Spa-Francorchamps at 60 Hz.

Each lap is planned once by a quasi-steady-state lap simulation on a 1 m grid: a speed limit
from the track's curvature and the car's grip, a forward pass (power-limited acceleration, drag,
slope) and a backward pass (braking), both sharing the tyres' grip with the lateral load. Time
comes from integrating that speed profile; pedals, gear and steering are derived from it.
Frames then index the plan, and slow states (tyre and brake temperatures, fuel) are integrated
frame by frame. Everything is deterministic for a seed.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ..channels import SESSION_KINDS, WHEELS, Frame
from ..tracks import SPA, Bend, Corner, Path, bend_extent, trace_path
from .base import SessionInfo

HZ: Final = 60
G: Final = 9.81  # m/s²
STEP_M: Final = 1.0  # lap plan resolution

# --- the car (Mercedes-AMG GT3 with driver and a medium fuel load)
MASS_KG: Final = 1420.0
POWER_W: Final = 380_000.0  # at the wheels, after balance of performance
CDA_M2: Final = 1.05  # drag area
AIR_KG_M3: Final = 1.2
ROLL_COEFF: Final = 0.015
CORNER_DRAG: Final = 0.05  # tyre scrub: extra resistance per unit of lateral acceleration
LAT_GRIP_G: Final = 1.52  # mechanical lateral grip
AERO_GRIP_G: Final = 1.79e-4  # extra grip per (m/s)², in g: downforce grows with speed²
TRACTION_G: Final = 1.2  # rear-drive traction on a straight at low speed
BRAKE_GRIP_G: Final = (1.4, 0.3)  # tyre braking: base + aero part at 70 m/s
ENGINE_BRAKE_N: Final = 1800.0  # a lift below this needs no brake pedal
WHEELBASE_M: Final = 2.63
STEER_RATIO: Final = 12.0
STEER_LOCK_RAD: Final = math.radians(240.0)  # steering wheel angle at full lock
UNDERSTEER: Final = 0.0015  # rad of road-wheel angle per m/s² of lateral acceleration
GEAR_KMH: Final = (85.0, 125.0, 160.0, 195.0, 232.0, 272.0)  # road speed at SHIFT_RPM
SHIFT_RPM: Final = 7300.0
DOWNSHIFT_RPM: Final = 6700.0  # the lower gear must not rev past this
MAX_RPM: Final = 7800.0
IDLE_RPM: Final = 1300.0
FUEL_START_L: Final = 60.0
FUEL_CAPACITY_L: Final = 120.0
FUEL_PER_THROTTLE_M: Final = 3.6 / 5220.0  # litres per metre at full throttle: ~3.6 l a lap

# --- the out-lap
PIT_EXIT_M: Final = 300.0
PIT_LIMIT_MS: Final = 60.0 / 3.6
PIT_OFFSET_M: Final = 14.0  # the pit lane runs beside the straight, on its right
COLD_GRIP: Final = 0.94  # cold tyres leaving the pits
WARM_BY_M: Final = 6000.0  # out-lap distance by which the tyres give full grip

# --- the driver
BASE_BRAKE_MARGIN_M: Final = 4.0  # braking this much before the last possible point
BRAKE_NOISE_M: Final = 2.5
APEX_NOISE_KMH: Final = 1.0
INVALID_LAP_CHANCE: Final = 0.1

_TRACK: Final = SPA
_PATH: Final[Path] = trace_path(_TRACK, STEP_M)
_N: Final = len(_PATH.x) - 1  # last grid index, the line again


@dataclass
class LapPlan:
    """One simulated lap on a 1 m grid; index i is lap distance i metres.

    Speeds in m/s, accelerations in m/s² (lateral: + towards the right), times in s.
    """

    lap: int
    out_lap: bool
    invalid_from_m: float  # lap_valid drops to 0 here; inf for a valid lap
    t: list[float]
    speed: list[float]
    a_lon: list[float]
    a_lat: list[float]
    throttle: list[float]
    brake: list[float]
    gear: list[int]
    rpm: list[float]
    steering: list[float]
    abs_active: list[bool]

    @property
    def time_s(self) -> float:
        """The exact simulated lap time."""
        return self.t[-1]

    @property
    def valid(self) -> bool:
        return math.isinf(self.invalid_from_m)

    def min_speed_kmh(self, corner: str) -> float:
        """Slowest speed between the corner's start and end, km/h."""
        c = _corner(corner)
        return min(self.speed[int(c.start_m) : int(c.end_m) + 1]) * 3.6

    def brake_point_m(self, corner: str, threshold: float = 0.1) -> float | None:
        """First distance before the corner's apex where the brake passes `threshold`.

        The search starts 60 m before the corner's table start (not before the previous
        corner's end), so a brake point moved earlier is still found.
        """
        c = _corner(corner)
        before = [k.end_m for k in _TRACK.corners if k.end_m <= c.start_m]
        for i in range(int(max([c.start_m - 60, *before])), int(c.apex_m) + 1):
            if self.brake[i] > threshold:
                return float(i)
        return None


@dataclass
class _Driver:
    """How one lap is driven: per bend, braking margin (m) and apex speed change (m/s)."""

    brake_margin_m: list[float]
    speed_delta_ms: list[float]  # scales the bend's grip-limited speed (lap-to-lap noise)
    abs_bends: list[bool]
    # Variations asked for by the caller, made exact against the same lap without them:
    asked_brake_m: list[float]  # brake point this much earlier
    asked_speed_ms: list[float]  # minimum speed changed by this much
    shift_m: list[float] = field(default_factory=list)  # sliding-minimum length moving the brake point
    speed_cap_ms: list[float] = field(default_factory=list)
    invalid_from_m: float = math.inf

    def __post_init__(self) -> None:
        n = len(self.brake_margin_m)
        self.shift_m = self.shift_m or [0.0] * n
        self.speed_cap_ms = self.speed_cap_ms or [math.inf] * n


def _corner(name: str) -> Corner:
    c = _TRACK.corner(name)
    if c is None:
        raise KeyError(f"no corner {name!r} at {_TRACK.name}")
    return c


# --------------------------------------------------------------------------- car physics


def _lat_grip(v: float, grip: float) -> float:
    """Lateral acceleration the tyres hold at speed v, m/s²."""
    return G * (LAT_GRIP_G + AERO_GRIP_G * v * v) * grip


def _brake_grip(v: float, grip: float) -> float:
    return G * (BRAKE_GRIP_G[0] + BRAKE_GRIP_G[1] * min(1.0, (v / 70.0) ** 2)) * grip


def _resist(v: float, a_lat: float) -> float:
    """Drag, rolling and tyre-scrub forces at speed v, N."""
    return 0.5 * AIR_KG_M3 * CDA_M2 * v * v + ROLL_COEFF * MASS_KG * G + CORNER_DRAG * MASS_KG * a_lat


def _grip_left(v: float, kappa: float, grip: float) -> float:
    """Share of the tyres' grip left for accelerating or braking (friction circle)."""
    used = v * v * abs(kappa) / _lat_grip(v, grip)
    return math.sqrt(max(0.0, 1.0 - used * used))


def _drive_force(v: float, kappa: float, grip: float) -> float:
    engine = POWER_W / max(v, 1.0)
    tyres = MASS_KG * G * TRACTION_G * (1 + AERO_GRIP_G * v * v / LAT_GRIP_G) * grip
    return min(engine, tyres * _grip_left(v, kappa, grip))


def _corner_limit(kappa: float, grip: float) -> float:
    """Highest steady speed on curvature kappa, m/s (inf when downforce keeps up)."""
    k = abs(kappa)
    room = k - G * AERO_GRIP_G * grip
    return math.inf if room <= 0 else math.sqrt(G * LAT_GRIP_G * grip / room)


# --------------------------------------------------------------------------- lap planning


def _speed_limits(driver: _Driver, grip: list[float], out_lap: bool) -> list[float]:
    lim = [_corner_limit(k, g) for k, g in zip(_PATH.curvature, grip, strict=True)]
    for b, bend in enumerate(_TRACK.bends):
        _scale_bend(lim, bend, driver.speed_delta_ms[b])
        _cap_bend(lim, bend, driver.speed_cap_ms[b])
    for b, bend in enumerate(_TRACK.bends):
        _extend_entry(lim, bend, driver.brake_margin_m[b] + driver.shift_m[b])
    if out_lap:
        for i in range(int(PIT_EXIT_M / STEP_M) + 1):
            lim[i] = min(lim[i], PIT_LIMIT_MS)
    return lim


def _bend_range(bend: Bend) -> tuple[int, int, int]:
    """Grid indices of a bend's start, its full-curvature start and its end."""
    start, full, ramp = bend_extent(bend)
    return max(0, int(start)), math.ceil(start + ramp), min(_N, int(start + full + 2 * ramp) + 1)


def _scale_bend(lim: list[float], bend: Bend, delta_ms: float) -> None:
    lo, _, hi = _bend_range(bend)
    slowest = min(lim[lo : hi + 1])
    if delta_ms == 0 or math.isinf(slowest):
        return
    factor = max(0.2, (slowest + delta_ms) / slowest)
    for i in range(lo, hi + 1):
        lim[i] *= factor


def _cap_bend(lim: list[float], bend: Bend, cap_ms: float) -> None:
    if math.isinf(cap_ms):
        return
    lo, _, hi = _bend_range(bend)
    for i in range(lo, hi + 1):
        # The car is below the bend's grip limit here: the driver simply goes slower.
        lim[i] = min(lim[i], cap_ms)


def _extend_entry(lim: list[float], bend: Bend, margin_m: float) -> None:
    # Braking `margin_m` earlier means reaching each entry speed that much earlier: the limit
    # on the way in becomes the limit margin_m further on (a sliding minimum).
    lo, full_start, _ = _bend_range(bend)
    if margin_m <= 0 or math.isinf(lim[full_start]):
        return
    for i in range(max(0, int(lo - margin_m) - 1), full_start + 1):
        ahead = min(i + margin_m, float(full_start))
        j = int(ahead)
        f = ahead - j
        later = lim[j] if f == 0 else lim[j] + f * (lim[min(j + 1, full_start)] - lim[j])
        lim[i] = min(lim[i], later)


def _slope(i: int) -> float:
    return (_PATH.y[min(i + 1, _N)] - _PATH.y[i]) / STEP_M


def _forward(lim: list[float], v0: float, grip: list[float]) -> list[float]:
    v = [min(v0, lim[0])]
    for i in range(_N):
        u, kappa = v[-1], _PATH.curvature[i]
        force = _drive_force(u, kappa, grip[i]) - _resist(u, u * u * abs(kappa))
        a = force / MASS_KG - G * _slope(i)
        nxt = math.sqrt(max(0.25, u * u + 2 * a * STEP_M))
        if u >= lim[i] * 0.999:
            nxt = max(nxt, u)  # at the limit the driver holds the speed the corner allows
        v.append(min(lim[i + 1], nxt))
    return v


def _backward(v: list[float], grip: list[float]) -> list[float]:
    out = v[:]
    for i in range(_N - 1, -1, -1):
        u, kappa = out[i + 1], _PATH.curvature[i]
        brake = _brake_grip(u, grip[i]) * _grip_left(u, kappa, grip[i])
        decel = brake + _resist(u, u * u * abs(kappa)) / MASS_KG + G * _slope(i)
        out[i] = min(out[i], math.sqrt(max(0.0, u * u + 2 * decel * STEP_M)))
    return out


def _grip(out_lap: bool) -> list[float]:
    """Grip factor along the lap: cold tyres on the out-lap are up to temperature by Blanchimont."""
    if not out_lap:
        return [1.0] * (_N + 1)
    return [COLD_GRIP + (1 - COLD_GRIP) * min(1.0, i * STEP_M / WARM_BY_M) for i in range(_N + 1)]


def _profile(driver: _Driver, v0: float, out_lap: bool) -> list[float]:
    grip = _grip(out_lap)
    return _backward(_forward(_speed_limits(driver, grip, out_lap), v0, grip), grip)


def _brake_onset(speed: list[float], bend: Bend) -> int:
    """Where the car starts slowing for a bend: walk back from its full curvature."""
    lo, i, _ = _bend_range(bend)
    while i > lo - 60 and abs(speed[i - 1] - speed[i]) < 1e-9:
        i -= 1  # the stretch taken at corner speed before turning in
    while i > 0 and speed[i - 1] > speed[i] + 1e-9:
        i -= 1
    return i


def _slowest(speed: list[float], bend: Bend) -> float:
    lo, _, hi = _bend_range(bend)
    return min(speed[lo : hi + 1])


def _apply_asked(driver: _Driver, v0: float, out_lap: bool) -> None:
    # Speed changes first: a cap relative to the same lap's own minimum speed there.
    bends = _TRACK.bends
    if any(driver.asked_speed_ms):
        plain = _profile(driver, v0, out_lap)
        limits = _speed_limits(driver, _grip(out_lap), out_lap)
        for b, delta in enumerate(driver.asked_speed_ms):
            slowest = _slowest(plain, bends[b])
            if delta and slowest >= 0.995 * _slowest(limits, bends[b]):
                driver.speed_delta_ms[b] += delta  # at the grip limit: move the limit itself
            elif delta:
                driver.speed_cap_ms[b] = max(1.0, slowest + delta)
    if not any(driver.asked_brake_m):
        return
    plain = _profile(driver, v0, out_lap)
    wanted = {b: _brake_onset(plain, bends[b]) - d for b, d in enumerate(driver.asked_brake_m) if d > 0}
    for b in wanted:
        driver.shift_m[b] = driver.asked_brake_m[b]
    # Grip left over at the start of a bend steepens a shifted braking curve, so the brake
    # point moves less than the shift: correct the shift until the brake point lands on the metre.
    for _ in range(5):
        speed = _profile(driver, v0, out_lap)
        misses = {b: _brake_onset(speed, bends[b]) - target for b, target in wanted.items()}
        if not any(misses.values()):
            return
        for b, miss in misses.items():
            driver.shift_m[b] = max(0.0, driver.shift_m[b] + miss)


def _plan_lap(lap: int, driver: _Driver, v0: float) -> LapPlan:
    out_lap = lap == 1
    if any(driver.asked_brake_m) or any(driver.asked_speed_ms):
        _apply_asked(driver, v0, out_lap)
    speed = _profile(driver, v0, out_lap)
    t = [0.0]
    for i in range(_N):
        t.append(t[-1] + 2 * STEP_M / (speed[i] + speed[i + 1]))
    a_lon, a_lat, throttle, brake, steering = _controls(speed, out_lap)
    gear, rpm = _gears(speed)
    abs_active = _abs(speed, brake, driver)
    return LapPlan(
        lap,
        out_lap,
        driver.invalid_from_m,
        t,
        speed,
        a_lon,
        a_lat,
        throttle,
        brake,
        gear,
        rpm,
        steering,
        abs_active,
    )


def _controls(
    speed: list[float], out_lap: bool
) -> tuple[list[float], list[float], list[float], list[float], list[float]]:
    grip = _grip(out_lap)
    a_lon, a_lat, throttle, brake, steer = [], [], [], [], []
    for i in range(_N + 1):
        v, kappa = speed[i], _PATH.curvature[i]
        nxt = speed[min(i + 1, _N)] if i < _N else speed[i]
        a = (nxt * nxt - v * v) / (2 * STEP_M)
        lat = v * v * kappa
        need = MASS_KG * a + _resist(v, abs(lat)) + MASS_KG * G * _slope(i)
        a_lon.append(a)
        a_lat.append(-lat)  # + towards the right; curvature is + to the left
        throttle.append(min(1.0, max(0.0, need / (POWER_W / max(v, 1.0)))))
        braking = -need if -need > ENGINE_BRAKE_N else 0.0
        brake.append(min(1.0, braking / (MASS_KG * _brake_grip(v, grip[i]))))
        road_wheel = WHEELBASE_M * kappa + UNDERSTEER * lat
        steer.append(max(-1.0, min(1.0, -road_wheel * STEER_RATIO / STEER_LOCK_RAD)))
    for i in range(1, _N + 1):
        # Feet come off the brake progressively, at most 0.1 of its travel per metre.
        if speed[i] <= speed[i - 1] and brake[i] < brake[i - 1] - 0.1:
            brake[i], throttle[i] = brake[i - 1] - 0.1, 0.0
    return a_lon, a_lat, throttle, brake, steer


def _rpm(v: float, gear: int) -> float:
    return v * 3.6 / GEAR_KMH[gear - 1] * SHIFT_RPM


def _gears(speed: list[float]) -> tuple[list[int], list[float]]:
    gears, rpms = [], []
    g = 1
    for i, v in enumerate(speed):
        while g < len(GEAR_KMH) and _rpm(v, g) >= SHIFT_RPM:
            g += 1
        slowing = i > 0 and v < speed[i - 1]
        # Second is the lowest gear on track; first only pulls away from the pit box.
        while slowing and g > 2 and _rpm(v, g - 1) <= DOWNSHIFT_RPM:
            g -= 1
        gears.append(g)
        rpms.append(max(IDLE_RPM, _rpm(v, g)))
    return gears, rpms


def _abs(speed: list[float], brake: list[float], driver: _Driver) -> list[bool]:
    out = [False] * (_N + 1)
    for b, bend in enumerate(_TRACK.bends):
        if not driver.abs_bends[b]:
            continue
        lo, full_start, _ = _bend_range(bend)
        for i in range(max(0, lo - 300), full_start):
            # ABS cuts in where the pedal is hard down at speed.
            out[i] = brake[i] > 0.9 and speed[i] > 33.0
    return out


# --------------------------------------------------------------------------- slow states


AIR_C: Final = 22.0
TRACK_C: Final = 30.0
TYRE_LAT_HEAT: Final = 0.62  # °C/s per g of lateral load on the tyre, at 0 m/s
TYRE_LON_HEAT: Final = 0.38  # °C/s per g braking or driving, at 0 m/s
TYRE_ROLL_HEAT: Final = 0.005  # °C/s per m/s: carcass flexing
TYRE_COOL: Final = (0.004, 0.00035)  # 1/s, still air + per m/s of airflow
WEAR_PER_HEAT: Final = 0.0012  # % of tread per °C of heat put in
DISC_J_PER_K: Final = (3000.0, 2400.0)  # front, rear disc and pad heat capacity
DISC_COOL: Final = (0.004, 0.00045)  # 1/s, still air + per m/s of airflow


def _tyre_heat(w: int, v: float, g_lat: float, g_lon: float) -> float:
    """Heat into tyre w, °C/s: grows with the load it carries and with sliding speed."""
    left, front = w % 2 == 0, w < 2
    load = max(0.2, 1 + (0.45 if left else -0.45) * g_lat)  # a right turn loads the left side
    speed = 1.0 + v / 100.0
    lateral = TYRE_LAT_HEAT * abs(g_lat) * load * (1.15 if front else 0.95)
    braking = max(0.0, -g_lon) * (1.3 if front else 0.7)
    driving = max(0.0, g_lon) * (0.2 if front else 1.3)
    return (lateral + TYRE_LON_HEAT * (braking + driving)) * speed + TYRE_ROLL_HEAT * v


@dataclass
class _Thermal:
    """Tyre, brake, engine and fuel states, integrated frame by frame (dt in s)."""

    tyre: list[float] = field(default_factory=lambda: [40.0] * 4)  # carcass, °C
    gas: list[float] = field(default_factory=lambda: [40.0] * 4)  # inflation gas, °C
    disc: list[float] = field(default_factory=lambda: [60.0] * 4)  # °C
    wear: list[float] = field(default_factory=lambda: [0.0] * 4)  # %
    g_lat_slow: float = 0.0
    water: float = 72.0
    oil: float = 78.0
    fuel: float = FUEL_START_L

    def step(self, dt: float, v: float, g_lat: float, g_lon: float, brake_w: float, throttle: float) -> None:
        self.g_lat_slow += (g_lat - self.g_lat_slow) * min(1.0, dt / 0.8)
        for w in range(4):
            heat = _tyre_heat(w, v, g_lat, g_lon)
            cool = (self.tyre[w] - TRACK_C) * (TYRE_COOL[0] + TYRE_COOL[1] * v)
            self.tyre[w] += (heat - cool) * dt
            self.gas[w] += (self.tyre[w] - self.gas[w]) * dt / 20.0
            self.wear[w] = min(100.0, self.wear[w] + heat * dt * WEAR_PER_HEAT)
            front = w < 2
            disc_heat = brake_w * (0.31 if front else 0.19) / (DISC_J_PER_K[0] if front else DISC_J_PER_K[1])
            self.disc[w] += (disc_heat - (self.disc[w] - AIR_C) * (DISC_COOL[0] + DISC_COOL[1] * v)) * dt
        self.water += (84.0 + 9.0 * throttle - self.water) * dt / 60.0
        self.oil += (96.0 + 14.0 * throttle - self.oil) * dt / 120.0

    def surfaces(self, w: int) -> tuple[float, float, float]:
        """(inner, middle, outer) surface temperatures; camber works the inner edge."""
        left = w % 2 == 0
        outside = max(0.0, self.g_lat_slow if left else -self.g_lat_slow)
        core = self.tyre[w]
        return core + 5.0 - 1.5 * outside, core + 1.0, core - 3.5 + 4.0 * outside


# --------------------------------------------------------------------------- the source


class DemoCar:
    """A deterministic simulated GT3 car lapping Spa-Francorchamps (game "demo").

    `brake_earlier_m` moves named corners' brake points earlier (m), `corner_speed_delta_kmh`
    changes their minimum speeds (km/h), `per_lap` applies either (or ``"invalid": True``) to
    one lap only. Lap 1 is an out-lap from the pit lane. With `laps`, frames stop after the
    first frame of lap ``laps + 1`` (the one that reports the last lap's time).
    """

    game = "demo"

    def __init__(
        self,
        seed: int = 0,
        *,
        start_t: float | None = None,
        realtime: bool = True,
        kind: str = "practice",
        laps: int | None = None,
        brake_earlier_m: dict[str, float] | None = None,
        corner_speed_delta_kmh: dict[str, float] | None = None,
        per_lap: dict[int, dict[str, Any]] | None = None,
        noise: bool = True,
        speed: float = 1.0,
    ) -> None:
        if kind not in SESSION_KINDS:
            raise ValueError(f"kind must be one of {', '.join(SESSION_KINDS)}, not {kind!r}")
        self.seed = seed
        self.start_t = time.time() if start_t is None else start_t
        self.realtime = realtime
        self.speed = speed  # > 1: realtime, but the simulated clock runs this much faster
        self.kind = kind
        self.laps = laps
        self.noise = noise
        self._brake_earlier = dict(brake_earlier_m or {})
        self._speed_delta = dict(corner_speed_delta_kmh or {})
        self._per_lap = {k: dict(v) for k, v in (per_lap or {}).items()}
        for name in [*self._brake_earlier, *self._speed_delta, *_names_in(self._per_lap)]:
            _corner(name)  # a typo in a corner name fails here, not silently
        self._plans: list[LapPlan] = []
        self._live: Iterator[Frame] | None = None
        self._pending: Frame | None = None
        self._finished = False

    # ---- Source protocol

    def info(self) -> SessionInfo:
        return SessionInfo(
            game="demo",
            track=_TRACK.name,
            car="Mercedes-AMG GT3",
            kind=self.kind,
            car_class="GT3",
            track_length_m=_TRACK.length_m,
        )

    def read(self) -> Frame | None:
        """The next frame once its time has come (at once when not realtime), else None."""
        if self._live is None:
            self._live = self.frames()
        if self._pending is None:
            self._pending = next(self._live, None)
            if self._pending is None:
                self._finished = True
                return None
        if self.realtime:
            now = time.time()
            if self._due(self._pending) > now:
                return None
            # After a long stall (a sleeping laptop) drop the backlog, as a game would.
            while self._pending is not None and now - self._due(self._pending) > 1.0:
                self._pending = next(self._live, None)
            if self._pending is None:
                self._finished = True
                return None
        frame, self._pending = self._pending, None
        return frame

    def _due(self, frame: Frame) -> float:
        # wall-clock second a frame is due: simulated time runs `speed` times faster
        return self.start_t + (frame["t"] - self.start_t) / self.speed

    def close(self) -> None:
        self._live = None
        self._pending = None

    @property
    def finished(self) -> bool:
        """True once `read` has handed out the last frame of a `laps`-limited run."""
        return self._finished

    # ---- ground truth for tests

    def lap_plan(self, lap: int) -> LapPlan:
        """The simulated plan of lap `lap` (1 = the out-lap)."""
        while len(self._plans) < lap:
            n = len(self._plans) + 1
            v0 = self._plans[-1].speed[-1] if self._plans else 0.0
            self._plans.append(_plan_lap(n, self._driver(n), v0))
        return self._plans[lap - 1]

    def lap_times_s(self, count: int | None = None) -> list[float]:
        """Exact simulated times of laps 1..count (default: `laps`), the out-lap first."""
        n = count if count is not None else self.laps
        if n is None:
            raise ValueError("lap_times_s() needs a count when the car has no lap limit")
        return [self.lap_plan(k).time_s for k in range(1, n + 1)]

    # ---- frames

    def frames(self) -> Iterator[Frame]:
        """All frames from the start, at exactly HZ simulated time; independent of `read`."""
        rng = random.Random(self.seed)
        thermal = _Thermal()
        lap, lap_start, best, last = 1, 0.0, -1.0, -1.0
        plan = self.lap_plan(1)
        j = 0  # grid index, only ever moves forward within a lap
        i = 0
        while True:
            elapsed = i / HZ
            if elapsed - lap_start >= plan.time_s:
                last = plan.time_s
                if plan.valid and not plan.out_lap:
                    best = last if best < 0 else min(best, last)
                lap_start += plan.time_s
                lap += 1
                plan, j = self.lap_plan(lap), 0
                thermal.fuel = FUEL_START_L if thermal.fuel < 4.0 else thermal.fuel
            tau = elapsed - lap_start
            while plan.t[j + 1] <= tau:
                j += 1
            frame = _frame(plan, j, tau, rng if self.noise else None, thermal)
            frame.update(t=self.start_t + elapsed, lap=lap, last_lap_time=last, best_lap_time=best)
            yield frame
            if self.laps is not None and lap > self.laps:
                return
            i += 1

    def _driver(self, lap: int) -> _Driver:
        rng = random.Random(f"demo/{self.seed}/{lap}")
        bends = _TRACK.bends
        extra = self._per_lap.get(lap, {})
        brake = _merged(self._brake_earlier, extra.get("brake_earlier_m", {}))
        delta = _merged(self._speed_delta, extra.get("corner_speed_delta_kmh", {}))
        firsts = {b.name: k for k, b in reversed(list(enumerate(bends))) if b.name}
        driver = _Driver(
            brake_margin_m=[BASE_BRAKE_MARGIN_M] * len(bends),
            speed_delta_ms=[0.0] * len(bends),
            abs_bends=[b.name in ("Les Combes", "Bus Stop") for b in bends],
            asked_brake_m=[
                brake.get(b.name, 0.0) if firsts.get(b.name) == k else 0.0 for k, b in enumerate(bends)
            ],
            asked_speed_ms=[delta.get(b.name, 0.0) / 3.6 for b in bends],
        )
        if self.noise:
            _add_noise(driver, rng, out_lap=lap == 1)
        if extra.get("invalid"):
            driver.invalid_from_m = _corner("Pouhon").apex_m
        return driver


def _add_noise(driver: _Driver, rng: random.Random, *, out_lap: bool) -> None:
    for b in range(len(driver.brake_margin_m)):
        driver.brake_margin_m[b] = min(12.0, max(0.0, rng.gauss(BASE_BRAKE_MARGIN_M, BRAKE_NOISE_M)))
        driver.speed_delta_ms[b] += max(-3.0, min(3.0, rng.gauss(0.0, APEX_NOISE_KMH))) / 3.6
        driver.abs_bends[b] = rng.random() < 0.35
    if not out_lap and rng.random() < INVALID_LAP_CHANCE:
        driver.invalid_from_m = rng.choice(_TRACK.corners).apex_m  # a wheel off at that corner


def _merged(base: Mapping[str, float], more: Mapping[str, float]) -> dict[str, float]:
    out = dict(base)
    for k, v in more.items():
        out[k] = out.get(k, 0.0) + v
    return out


def _names_in(per_lap: dict[int, dict[str, Any]]) -> list[str]:
    return [
        n
        for v in per_lap.values()
        for key in ("brake_earlier_m", "corner_speed_delta_kmh")
        for n in v.get(key, {})
    ]


def _lerp(values: list[float], j: int, f: float) -> float:
    return values[j] + f * (values[j + 1] - values[j])


def _frame(plan: LapPlan, j: int, tau: float, rng: random.Random | None, thermal: _Thermal) -> Frame:
    f = (tau - plan.t[j]) / (plan.t[j + 1] - plan.t[j])
    dist = (j + f) * STEP_M
    v = _lerp(plan.speed, j, f)
    g_lat, g_lon = _lerp(plan.a_lat, j, f) / G, _lerp(plan.a_lon, j, f) / G
    if rng is not None:
        g_lat += rng.gauss(0.0, 0.015)  # kerbs and bumps
        g_lon += rng.gauss(0.0, 0.01)
    throttle, brake = _lerp(plan.throttle, j, f), _lerp(plan.brake, j, f)
    brake_w = brake * MASS_KG * _brake_grip(v, 1.0) * v  # power into the discs
    thermal.step(1.0 / HZ, v, g_lat, g_lon, brake_w, throttle)
    thermal.fuel = max(0.0, thermal.fuel - FUEL_PER_THROTTLE_M * throttle * v / HZ)
    in_pit = plan.out_lap and dist < PIT_EXIT_M
    x, y, z = _position(j, f, dist if plan.out_lap else math.inf)
    frame: Frame = {
        "lap_dist": dist,
        "lap_time": tau,
        "sector": _TRACK.sector_at(dist),
        "lap_valid": 0 if dist >= plan.invalid_from_m else 1,
        "in_pit": 1 if in_pit else 0,
        "speed": v * 3.6,
        "rpm": max(IDLE_RPM, _rpm(v, plan.gear[j])) if v > 3 else IDLE_RPM + 1500 * min(1.0, tau),
        "max_rpm": MAX_RPM,
        "gear": plan.gear[j],
        "throttle": throttle,
        "brake": brake,
        "clutch": max(0.0, 1.0 - tau / 1.5) if plan.out_lap else 0.0,  # pulling away from the box
        "steering": _lerp(plan.steering, j, f),
        "pos_x": x,
        "pos_y": y,
        "pos_z": z,
        "g_lat": g_lat,
        "g_lon": g_lon,
        "fuel": thermal.fuel,
        "fuel_capacity": FUEL_CAPACITY_L,
        "water_temp": thermal.water,
        "oil_temp": thermal.oil,
        "air_temp": AIR_C,
        "track_temp": TRACK_C,
        "abs_active": 1 if plan.abs_active[j] else 0,
        "tc_active": 1 if plan.gear[j] <= 2 and 0.55 < throttle < 0.97 and abs(g_lat) > 0.6 else 0,
        "flag": 0,
        # Alone on track: first, nobody to chase. Like a game that does not time sectors, it
        # leaves the splits to the sector channel.
        "last_split1": -1.0,
        "last_split2": -1.0,
        "position": 1,
        "gap_ahead": -1.0,
        "gap_leader": -1.0,
    }
    _wheels(frame, thermal, brake, throttle, plan.gear[j])
    return frame


def _position(j: int, f: float, out_lap_dist: float) -> tuple[float, float, float]:
    x, y, z = _lerp(_PATH.x, j, f), _lerp(_PATH.y, j, f), _lerp(_PATH.z, j, f)
    if out_lap_dist < PIT_EXIT_M:
        # The pit lane runs alongside; it merges over its last 100 m.
        side = PIT_OFFSET_M * min(1.0, (PIT_EXIT_M - out_lap_dist) / 100.0)
        h = _PATH.heading[j]
        x, z = x + side * math.sin(h), z - side * math.cos(h)
    return x, y, z


def _wheels(frame: Frame, thermal: _Thermal, brake: float, throttle: float, gear: int) -> None:
    for w, name in enumerate(WHEELS):
        inner, mid, outer = thermal.surfaces(w)
        front = w < 2
        frame[f"tyre_temp_{name}"] = (inner + mid + outer) / 3
        frame[f"tyre_temp_in_{name}"] = inner
        frame[f"tyre_temp_mid_{name}"] = mid
        frame[f"tyre_temp_out_{name}"] = outer
        # Ideal gas at constant volume: 165 kPa set cold at 40 °C.
        frame[f"tyre_press_{name}"] = 165.0 * (thermal.gas[w] + 273.15) / (40.0 + 273.15)
        frame[f"tyre_wear_{name}"] = thermal.wear[w]
        frame[f"brake_temp_{name}"] = thermal.disc[w]
        spin = 0.0 if front else 0.06 * throttle / gear
        frame[f"wheel_slip_{name}"] = spin - 0.04 * brake * (1.2 if front else 0.8)
