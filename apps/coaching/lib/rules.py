"""Live coaching rules over the frame stream.

`LiveCoach.feed` takes one decoded batch (channel name -> array of 1..600 frames) and returns
the messages a race engineer would say about it. Work is vectorised over the batch; the only
per-session memory is `LiveCoach.state` (a few numbers per rule, plus the best lap's time vs
distance for the live delta), kept by the rig's socket between batches.

Each message has a rule id; a rule (per wheel, where it is about a wheel) stays quiet for its
cool-down after it spoke, so the driver hears a problem once, not sixty times a second.
Channels a game does not provide are simply absent from the batch: their rules skip.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

import numpy as np

from apps.traces.lib.analysis import resample_by_distance
from apps.traces.lib.columns import Columns
from simcoach_agent.channels import PSI_TO_KPA, WHEELS
from simcoach_site.lib.units import Units, fmt

from .tyres import Window, window_for

Severity = Literal["info", "warn", "critical"]

# rule id -> (severity, default cool-down in s). Critical rules repeat sooner on purpose.
RULES: Final[dict[str, tuple[Severity, float]]] = {
    "tyre_cold": ("info", 60.0),
    "tyre_hot": ("warn", 30.0),
    "tyre_critical": ("critical", 10.0),
    "tyre_camber": ("info", 120.0),
    "tyre_pressure_low": ("warn", 60.0),
    "tyre_pressure_high": ("warn", 60.0),
    "brake_fade": ("warn", 30.0),
    "brake_cold": ("info", 60.0),
    "fuel_status": ("info", 0.0),
    "fuel_box": ("critical", 10.0),
    "overlap": ("info", 30.0),
    "coasting": ("info", 30.0),
    "over_rev": ("warn", 30.0),
    "early_shift": ("info", 60.0),
    "lock_up": ("warn", 20.0),
    "wheel_spin": ("warn", 20.0),
    "g_peak": ("info", 0.0),
    "live_delta": ("info", 30.0),
    "sector_delta": ("info", 0.0),
}

WHEEL_NAMES: Final = {"fl": "Front left", "fr": "Front right", "rl": "Rear left", "rr": "Rear right"}

# Technique thresholds: pedals are fractions 0..1, durations in s, speeds in km/h.
PEDAL_ON: Final = 0.10
PEDAL_OFF: Final = 0.05
OVERLAP_S: Final = 0.2
COAST_S: Final = 1.0
COAST_MIN_KMH: Final = 50.0
OVER_REV_FRACTION: Final = 0.98
OVER_REV_S: Final = 0.3
EARLY_SHIFT_FRACTION: Final = 0.85
EARLY_SHIFT_OF: Final = (3, 5)  # at least 3 of the last 5 upshifts were early
SLIP_LIMIT: Final = 0.2  # slip ratio; -1 is a locked wheel
SLIP_S: Final = 0.1  # a single noisy frame is not a lock-up
CAMBER_TOO_MUCH_C: Final = 12.0  # inner hotter than outer by more than this
CAMBER_TOO_LITTLE_C: Final = 5.0  # outer hotter than inner by more than this
BRAKING_EVENT: Final = 0.3  # brake fraction that makes a braking event for the cold check
BOX_RESERVE_LAPS: Final = 1.1  # box when less than this is left after the current lap
GREEN_LAPS_KEPT: Final = 5
REF_STEP_M: Final = 5.0  # grid of the stored reference lap; 1400 points at Spa
# All the live coach reads of a finished lap's trace besides `t` (which every read includes):
# fuel used and the delta's reference. The other sixty channels of a whole lap, read and
# resampled at every lap's end, held the GIL for tens of milliseconds while every socket of
# the process waited.
LIVE_COACH_CHANNELS: Final[tuple[str, ...]] = ("lap_dist", "lap_time", "fuel")
EPS_S: Final = 1e-6
MAX_GAP_S: Final = 0.5  # frames further apart than this are not one continuous stretch


@dataclass
class Message:
    """One thing to tell the driver. `t` is the time of the frame that caused it (s since the
    epoch); `key` tells one wheel's (or sector's) message of a rule from another's; `lap` is
    the lap it is said in; `until_m`, for a message about a place ahead, the lap distance after
    which it is useless (None: not about a place ahead)."""

    rule: str
    severity: Severity
    text: str
    t: float
    data: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    lap: int | None = None
    until_m: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Run:
    """A condition that has held since `start_t` (None: not holding) at the batch's end."""

    start_t: float | None = None
    fired: bool = False


@dataclass
class CoachState:
    """Everything LiveCoach remembers between batches; plain data."""

    last_fired: dict[str, float] = field(default_factory=dict)  # "rule:wheel" -> t
    runs: dict[str, Run] = field(default_factory=dict)
    last_t: float | None = None
    last_gear: float | None = None
    last_rpm: float | None = None
    last_throttle: float | None = None
    upshifts_early: list[bool] = field(default_factory=list)
    last_fuel: float | None = None
    green_fuel_l: list[float] = field(default_factory=list)
    lap_peak_g: float = 0.0
    best_lap_s: float | None = None
    ref_pinned: bool = False  # a chosen reference lap: the session's own laps never replace it
    ref_dist: np.ndarray | None = None  # m
    ref_time: np.ndarray | None = None  # s since the line at ref_dist
    delta_s: float | None = None  # latest live delta to the best lap, > 0 slower
    lap: int | None = None
    sector: int | None = None
    sector_start_delta: float = 0.0
    closing: tuple[int, int, float] | None = None  # (lap, last sector, delta at its start)


def _col(batch: Columns, name: str) -> np.ndarray | None:
    values = batch.get(name)
    if values is None:
        return None
    arr = np.asarray(values, dtype=np.float64)
    return arr if arr.size else None


def _last(values: np.ndarray | None) -> float | None:
    if values is None:
        return None
    if np.isfinite(values[-1]):  # the usual case, and ten times cheaper than the search
        return float(values[-1])
    finite = np.flatnonzero(np.isfinite(values))
    return float(values[finite[-1]]) if finite.size else None


def _newest(batch: Columns) -> dict[str, float | None]:
    """Each channel's newest finite value. A decoded batch (a matrix under its names) gives
    them in one step: twenty-odd channel-by-channel look-ups were a fifth of the rules' cost."""
    matrix, names = getattr(batch, "matrix", None), getattr(batch, "names", None)
    if matrix is not None and names is not None and matrix.shape[1]:
        newest = matrix[:, -1]
        if np.isfinite(newest).all():
            return dict(zip(names, newest.tolist(), strict=True))
    return {name: _last(_col(batch, name)) for name in batch}


def _on_laps(messages: list[Message], t: np.ndarray, lap: np.ndarray | None) -> list[Message]:
    """Each message's lap: that of the frame that caused it (one search for all of them)."""
    if not messages or lap is None:
        return messages
    at = np.searchsorted(t, [m.t for m in messages], side="right") - 1
    laps = lap[np.clip(at, 0, lap.size - 1)]
    for m, n in zip(messages, laps.tolist(), strict=True):
        m.lap = int(n) if np.isfinite(n) else None
    return messages


def _signed(x: float, digits: int = 3) -> str:
    # Drivers read a proper minus sign faster than a hyphen on a small overlay.
    return f"{x:+.{digits}f}".replace("-", "\u2212")


def run_hits(mask: np.ndarray, t: np.ndarray, run: Run, min_s: float) -> list[int]:
    """Frame indices where a run of `mask` has lasted min_s; updates `run` for the next batch.

    A run that started in an earlier batch keeps its start time, so a 0.3 s condition split
    over two 50 ms batches is still seen. Each run is reported once.
    """
    if not mask.any():  # most batches: nothing to see, nothing to carry
        run.start_t, run.fired = None, False
        return []
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    hits = []
    carried_start, carried_fired = run.start_t, run.fired
    run.start_t, run.fired = None, False
    for s, e in zip(starts, ends, strict=True):
        start_t, fired = float(t[s]), False
        if s == 0 and carried_start is not None:
            start_t, fired = carried_start, carried_fired
        if not fired:
            k = max(int(np.searchsorted(t, start_t + min_s - EPS_S, side="left")), int(s))
            if k <= e:
                hits.append(k)
                fired = True
        if e == mask.size - 1:
            run.start_t, run.fired = start_t, fired
    return hits


class LiveCoach:
    """Live rules for one driving session. Feed it batches; it returns messages."""

    def __init__(
        self,
        *,
        car_class: str = "GT3",
        compound: str = "dry",
        max_rpm: float | None = None,
        cooldowns: dict[str, float] | None = None,
        track_length_m: float | None = None,
    ) -> None:
        self.window: Window = window_for(car_class, compound)
        self.max_rpm = max_rpm
        self.cooldowns = {rule: cd for rule, (_, cd) in RULES.items()} | (cooldowns or {})
        self.track_length_m = track_length_m
        self.state = CoachState()
        self._out: list[Message] = []

    # ----------------------------------------------------------------- plumbing

    def _emit(self, rule: str, text: str, t: float, key: str = "", **data: Any) -> None:
        slot = f"{rule}:{key}"
        last = self.state.last_fired.get(slot)
        # A clock that went backwards (a replay, a new session) never silences a rule.
        if last is not None and 0.0 <= t - last < self.cooldowns[rule]:
            return
        self.state.last_fired[slot] = t
        self._out.append(Message(rule, RULES[rule][0], text, t, data, key))

    def _say(self, rule: str, t: float, key: str = "", **data: Any) -> None:
        # A message with a number in it: worded by message_text, which viewers re-word in
        # their own units from the same data.
        text = message_text(rule, data, None)
        assert text is not None, rule
        self._emit(rule, text, t, key, **data)

    def _forget_continuity(self) -> None:
        # After a gap (lost frames, a pause, a replay) a condition cannot be assumed to have
        # held through it, nor a gear change to have happened across it.
        self.state.runs.clear()
        self.state.last_gear = self.state.last_rpm = self.state.last_throttle = None

    def _run(self, key: str) -> Run:
        return self.state.runs.setdefault(key, Run())

    def _drain(self) -> list[Message]:
        out, self._out = self._out, []
        return out

    # ----------------------------------------------------------------- entry points

    def feed(self, batch: Columns) -> list[Message]:
        """Run every rule over one batch of frames (columnar, time-ordered)."""
        t = _col(batch, "t")
        if t is None:
            return []
        if self.state.last_t is not None and not 0.0 <= t[0] - self.state.last_t <= MAX_GAP_S:
            self._forget_continuity()
        newest = _newest(batch)
        self._tyre_rules(newest, float(t[-1]))
        self._brake_rules(batch, t)
        self._pedal_rules(batch, t)
        self._engine_rules(batch, t)
        self._slip_rules(batch, t)
        self._track_g(batch)
        self._delta_rules(batch, t)
        fuel = newest.get("fuel")
        self.state.last_fuel = fuel if fuel is not None else self.state.last_fuel
        self.state.last_t = float(t[-1])
        return _on_laps(self._drain(), t, _col(batch, "lap"))

    def lap_completed(
        self,
        *,
        lap_number: int,
        time_s: float,
        valid: bool,
        fuel_used_l: float | None,
        in_or_out: bool,
        trace: Columns | None,
    ) -> list[Message]:
        """Close a lap: fuel average and box call, last sector delta, best-lap reference."""
        t = self.state.last_t if self.state.last_t is not None else 0.0
        self._final_sector(lap_number, time_s, t)
        green = valid and not in_or_out
        if green:
            self._add_fuel_lap(fuel_used_l, trace)
        self._fuel_messages(t)
        if self.state.lap_peak_g > 0:
            self._emit(
                "g_peak", f"Peak combined g: {self.state.lap_peak_g:.2f} g", t, peak_g=self.state.lap_peak_g
            )
        self.state.lap_peak_g = 0.0
        faster = self.state.best_lap_s is None or time_s < self.state.best_lap_s
        if green and trace is not None and faster and not self.state.ref_pinned:
            self._set_reference(time_s, trace)
        out = self._drain()
        for m in out:  # a lap's summary is said on the lap that follows it
            m.lap = lap_number + 1
            if m.rule == "fuel_box" and self.track_length_m:
                m.until_m = self.track_length_m  # the pit entry: at the latest, the lap's end
        return out

    def use_reference(self, *, time_s: float, trace: Columns) -> None:
        """Measure the live delta against this lap (the driver's reference for the track and
        car, perhaps imported from a faster driver) instead of the session's best lap."""
        self._set_reference(time_s, trace)
        self.state.ref_pinned = self.state.ref_dist is not None

    # ----------------------------------------------------------------- tyres

    def _tyre_rules(self, newest: dict[str, float | None], t: float) -> None:
        for wheel in WHEELS:
            temp = newest.get(f"tyre_temp_{wheel}")
            inner, outer = newest.get(f"tyre_temp_in_{wheel}"), newest.get(f"tyre_temp_out_{wheel}")
            if temp is None and inner is not None and outer is not None:
                mid = newest.get(f"tyre_temp_mid_{wheel}")
                temp = (inner + outer + (mid if mid is not None else (inner + outer) / 2)) / 3
            if temp is not None:
                self._tyre_temp(wheel, temp, t)
            if inner is not None and outer is not None:
                self._camber(wheel, inner - outer, t)
            self._pressure(wheel, newest.get(f"tyre_press_{wheel}"), temp, t)

    def _tyre_temp(self, wheel: str, temp: float, t: float) -> None:
        w = self.window
        if temp > w.tyre_critical_above:
            self._say("tyre_critical", t, wheel, wheel=wheel, temp_c=temp)
        elif temp > w.tyre_hot_above:
            self._say("tyre_hot", t, wheel, wheel=wheel, temp_c=temp)
        elif temp < w.tyre_cold_below:
            self._say("tyre_cold", t, wheel, wheel=wheel, temp_c=temp)

    def _camber(self, wheel: str, spread: float, t: float) -> None:
        if spread > CAMBER_TOO_MUCH_C or -spread > CAMBER_TOO_LITTLE_C:
            self._say("tyre_camber", t, wheel, wheel=wheel, inner_minus_outer_c=spread)

    def _pressure(self, wheel: str, kpa: float | None, temp: float | None, t: float) -> None:
        w = self.window
        # Targets are hot pressures: a cold tyre is always low, and saying so helps nobody.
        if kpa is None or (temp is not None and temp < w.tyre_cold_below):
            return
        if w.press_lo_kpa <= kpa <= w.press_hi_kpa:
            return
        rule, word = ("tyre_pressure_low", "low") if kpa < w.press_lo_kpa else ("tyre_pressure_high", "high")
        self._say(rule, t, wheel, wheel=wheel, kpa=kpa, psi=kpa / PSI_TO_KPA)

    # ----------------------------------------------------------------- brakes

    def _brake_rules(self, batch: Columns, t: np.ndarray) -> None:
        brake, speed = _col(batch, "brake"), _col(batch, "speed")
        braking = None
        if brake is not None:
            braking = brake > BRAKING_EVENT
            if speed is not None:
                braking &= speed > COAST_MIN_KMH
        for wheel in WHEELS:
            temp = _col(batch, f"brake_temp_{wheel}")
            if temp is None or not np.isfinite(temp).any():
                continue
            self._brake_wheel(wheel, temp, braking, t)

    def _brake_wheel(self, wheel: str, temp: np.ndarray, braking: np.ndarray | None, t: np.ndarray) -> None:
        w = self.window
        hottest = float(np.nanmax(temp))
        if hottest > w.brake_fade_above:
            i = int(np.nanargmax(temp))
            self._say("brake_fade", float(t[i]), wheel, wheel=wheel, temp_c=hottest)
        if braking is None or not braking.any():
            return
        on_brake = temp[braking]
        if np.isfinite(on_brake).any() and float(np.nanmax(on_brake)) < w.brake_cold_below:
            i = int(np.flatnonzero(braking)[0])
            value = float(np.nanmax(on_brake))
            self._say("brake_cold", float(t[i]), wheel, wheel=wheel, temp_c=value)

    # ----------------------------------------------------------------- technique

    def _pedal_rules(self, batch: Columns, t: np.ndarray) -> None:
        throttle, brake = _col(batch, "throttle"), _col(batch, "brake")
        if throttle is None or brake is None:
            return
        for k in run_hits((throttle > PEDAL_ON) & (brake > PEDAL_ON), t, self._run("overlap"), OVERLAP_S):
            self._emit("overlap", "Throttle and brake together: keep your feet apart", float(t[k]))
        speed, in_pit = _col(batch, "speed"), _col(batch, "in_pit")
        if speed is None:
            return
        coast = (throttle < PEDAL_OFF) & (brake < PEDAL_OFF) & (speed > COAST_MIN_KMH)
        if in_pit is not None:
            coast &= in_pit < 0.5
        for k in run_hits(coast, t, self._run("coasting"), COAST_S):
            self._say("coasting", float(t[k]), speed_kmh=float(speed[k]))

    def _limiter(self, batch: Columns, rpm: np.ndarray) -> np.ndarray | None:
        if self.max_rpm:
            return np.full(rpm.shape, float(self.max_rpm))
        limiter = _col(batch, "max_rpm")
        if limiter is None:
            return None
        return np.where(limiter > 0, limiter, np.nan)

    def _engine_rules(self, batch: Columns, t: np.ndarray) -> None:
        rpm = _col(batch, "rpm")
        limiter = self._limiter(batch, rpm) if rpm is not None else None
        if rpm is None or limiter is None:
            return
        for k in run_hits(rpm > OVER_REV_FRACTION * limiter, t, self._run("over_rev"), OVER_REV_S):
            self._emit("over_rev", "On the limiter: shift up earlier", float(t[k]), rpm=float(rpm[k]))
        gear = _col(batch, "gear")
        if gear is not None:
            self._upshifts(gear, rpm, limiter, _col(batch, "throttle"), t)
        self.state.last_rpm = _last(rpm)

    def _upshifts(
        self,
        gear: np.ndarray,
        rpm: np.ndarray,
        limiter: np.ndarray,
        throttle: np.ndarray | None,
        t: np.ndarray,
    ) -> None:
        st = self.state
        prev_gear = np.concatenate(([np.nan if st.last_gear is None else st.last_gear], gear[:-1]))
        prev_rpm = np.concatenate(([np.nan if st.last_rpm is None else st.last_rpm], rpm[:-1]))
        shifted = (gear == prev_gear + 1) & (prev_gear >= 1)
        if throttle is not None:
            # A lifted shift (saving fuel, behind a car) is a choice, not a mistake.
            prev_thr = np.concatenate(
                ([1.0 if st.last_throttle is None else st.last_throttle], throttle[:-1])
            )
            shifted &= prev_thr > 0.9
            st.last_throttle = _last(throttle)
        for k in np.flatnonzero(shifted):
            fraction = float(prev_rpm[k] / limiter[k])
            st.upshifts_early = [*st.upshifts_early, fraction < EARLY_SHIFT_FRACTION][-EARLY_SHIFT_OF[1] :]
            if st.upshifts_early[-1] and sum(st.upshifts_early) >= EARLY_SHIFT_OF[0]:
                text = f"Shifting early: up at {100 * fraction:.0f}% of the limiter"
                self._emit("early_shift", text, float(t[k]), rpm_fraction=fraction)
        st.last_gear = _last(gear)

    def _slip_rules(self, batch: Columns, t: np.ndarray) -> None:
        brake, throttle = _col(batch, "brake"), _col(batch, "throttle")
        for wheel in WHEELS:
            slip = _col(batch, f"wheel_slip_{wheel}")
            if slip is None:
                continue
            name = WHEEL_NAMES[wheel]
            if brake is not None:
                for k in run_hits(
                    (slip < -SLIP_LIMIT) & (brake > PEDAL_ON), t, self._run(f"lock_up:{wheel}"), SLIP_S
                ):
                    self._emit("lock_up", f"{name} locking under braking", float(t[k]), wheel, wheel=wheel)
            if throttle is not None:
                for k in run_hits(
                    (slip > SLIP_LIMIT) & (throttle > PEDAL_ON), t, self._run(f"wheel_spin:{wheel}"), SLIP_S
                ):
                    self._emit(
                        "wheel_spin",
                        f"{name} spinning on throttle: easy on the pedal",
                        float(t[k]),
                        wheel,
                        wheel=wheel,
                    )

    def _track_g(self, batch: Columns) -> None:
        lat, lon = _col(batch, "g_lat"), _col(batch, "g_lon")
        if lat is None or lon is None:
            return
        combined = np.hypot(lat, lon)
        if np.isfinite(combined).any():
            self.state.lap_peak_g = max(self.state.lap_peak_g, float(np.nanmax(combined)))

    # ----------------------------------------------------------------- fuel

    def _add_fuel_lap(self, fuel_used_l: float | None, trace: Columns | None) -> None:
        used = fuel_used_l
        if used is None and trace is not None and "fuel" in trace:
            fuel = np.asarray(trace["fuel"], dtype=np.float64)
            fuel = fuel[np.isfinite(fuel)]
            used = float(fuel[0] - fuel[-1]) if fuel.size >= 2 else None
        if used is not None and used > 0:
            self.state.green_fuel_l = [*self.state.green_fuel_l, used][-GREEN_LAPS_KEPT:]

    def _fuel_messages(self, t: float) -> None:
        st = self.state
        if not st.green_fuel_l or st.last_fuel is None:
            return
        per_lap = float(np.mean(st.green_fuel_l))
        laps_left = st.last_fuel / per_lap
        data = {"litres_per_lap": per_lap, "laps_left": laps_left, "fuel_l": st.last_fuel}
        self._emit("fuel_status", f"Fuel: {per_lap:.2f} l a lap, {laps_left:.1f} laps left", t, "", **data)
        # At the line the lap just started still has to be driven: after it, is a whole lap
        # (plus a reserve) left? If not, this lap is the last one before the stop.
        if laps_left - 1.0 < BOX_RESERVE_LAPS:
            self._emit("fuel_box", f"Box this lap: fuel for {laps_left:.1f} laps", t, "", **data)

    # ----------------------------------------------------------------- delta to the best lap

    def _set_reference(self, time_s: float, trace: Columns) -> None:
        dist = np.asarray(trace.get("lap_dist", []), dtype=np.float64)
        if dist.size < 2 or ("t" not in trace and "lap_time" not in trace):
            return
        length = self.track_length_m or float(np.nanmax(dist))
        wanted = {k: trace[k] for k in ("t", *LIVE_COACH_CHANNELS) if k in trace}  # a whole lap may be given
        ref = resample_by_distance(wanted, length_m=length, step_m=REF_STEP_M)
        self.state.best_lap_s = time_s
        self.state.ref_dist, self.state.ref_time = ref["lap_dist"], ref["t"]

    def live_delta(self, batch: Columns) -> float | None:
        """The delta at the batch's newest frame, for screens between two runs of the rules."""
        newest = {k: batch[k][-1:] for k in ("lap_dist", "lap_time") if k in batch}
        return _last(self._deltas(newest))

    def _deltas(self, batch: Columns) -> np.ndarray | None:
        """Per frame: lap time minus the reference's at the same lap distance (> 0 slower)."""
        st = self.state
        dist, lap_time = _col(batch, "lap_dist"), _col(batch, "lap_time")
        if st.ref_dist is None or st.ref_time is None or dist is None or lap_time is None:
            return None
        ok = (dist >= 0) & (dist <= st.ref_dist[-1]) & (lap_time >= 0)
        return np.where(ok, lap_time - np.interp(dist, st.ref_dist, st.ref_time), np.nan)

    def _delta_rules(self, batch: Columns, t: np.ndarray) -> None:
        st = self.state
        delta = self._deltas(batch)
        latest = _last(delta)
        if delta is None or latest is None:
            return
        st.delta_s = latest
        self._sector_changes(batch, delta, t)
        self._emit("live_delta", f"Delta to best: {_signed(latest)} s", float(t[-1]), delta_s=latest)

    def _sector_changes(self, batch: Columns, delta: np.ndarray, t: np.ndarray) -> None:
        sector, lap = _col(batch, "sector"), _col(batch, "lap")
        if sector is None or lap is None or not (np.isfinite(sector).all() and np.isfinite(lap).all()):
            return
        st = self.state
        prev_sector = np.concatenate(([sector[0] if st.sector is None else st.sector], sector[:-1]))
        prev_lap = np.concatenate(([lap[0] if st.lap is None else st.lap], lap[:-1]))
        # Only frames where the sector or lap changes need a closer look.
        for k in np.flatnonzero((sector != prev_sector) | (lap != prev_lap)):
            s, n = int(sector[k]), int(lap[k])
            if n > prev_lap[k]:
                st.closing = (int(prev_lap[k]), int(prev_sector[k]), st.sector_start_delta)
                st.sector_start_delta = 0.0
            elif s == prev_sector[k] + 1 and np.isfinite(delta[k]):
                split = float(delta[k]) - st.sector_start_delta
                text = f"Sector {s}: {_signed(split)} s"
                self._emit("sector_delta", text, float(t[k]), f"{n}:{s}", sector=s, delta_s=split)
                st.sector_start_delta = float(delta[k])
        st.lap, st.sector = int(lap[-1]), int(sector[-1])

    def _final_sector(self, lap_number: int, time_s: float, t: float) -> None:
        st = self.state
        if st.best_lap_s is None:
            return
        if st.closing is not None and st.closing[0] == lap_number:
            _, sector, start = st.closing
            st.closing = None
        elif st.lap == lap_number and st.sector is not None:
            sector, start = st.sector, st.sector_start_delta
            st.sector_start_delta = 0.0
        else:
            return
        split = (time_s - st.best_lap_s) - start
        self._emit(
            "sector_delta",
            f"Sector {sector + 1}: {_signed(split)} s",
            t,
            f"{lap_number}:{sector + 1}",
            sector=sector + 1,
            delta_s=split,
        )


# --------------------------------------------------------------------------- wording with numbers

_TEMPERATURE_WORDS: Final = {
    "tyre_critical": "tyre overheating",
    "tyre_hot": "tyre hot",
    "tyre_cold": "tyre cold",
    "brake_fade": "brakes fading",
    "brake_cold": "brakes cold",
}


def message_text(rule: str, data: dict[str, Any], units: Units | None) -> str | None:
    """The words of a message that carries a number, in `units`; None for any other rule.

    `units` None is the agent's wording (it speaks to the driver before any choice is known):
    °C, km/h, and pressures in psi with kPa beside them. Viewers of the live page get theirs.
    """
    name = WHEEL_NAMES.get(str(data.get("wheel")), "")
    if rule in _TEMPERATURE_WORDS:
        return f"{name} {_TEMPERATURE_WORDS[rule]}: {_number(data['temp_c'], '°C', units)}"
    if rule == "tyre_camber":
        spread = float(data["inner_minus_outer_c"])
        hotter, cooler, verdict = (
            ("inner", "outer", "too much") if spread > 0 else ("outer", "inner", "not enough")
        )
        return f"{name} {hotter} {_number(abs(spread), '°C', units, difference=True)} hotter than {cooler}: {verdict} camber"
    if rule in ("tyre_pressure_low", "tyre_pressure_high"):
        word = "low" if rule == "tyre_pressure_low" else "high"
        kpa = float(data["kpa"])
        shown = f"{kpa / PSI_TO_KPA:.1f} psi ({kpa:.0f} kPa)" if units is None else fmt(kpa, "kPa", units)
        return f"{name} pressure {word}: {shown}"
    if rule == "coasting":
        return f"Coasting at {_number(data['speed_kmh'], 'km/h', units)}: brake or throttle"
    return None


def _number(value: float, stored: str, units: Units | None, *, difference: bool = False) -> str:
    if units is None:
        return f"{value:.0f} {stored}"
    if difference:  # a spread of 10 °C is 18 °F: no 32 °F offset
        return f"{value * (9 / 5 if units.temperature == '°F' else 1):.0f} {units.temperature}"
    return fmt(value, stored, units, digits=0)
