"""Both trace-store backends, for real: the SQL chunks and a running influxd."""

from __future__ import annotations

import math

import numpy as np
import pytest

from apps.sessions.services import session_open
from apps.telemetry.tests.frames import loop_frames
from apps.traces.lib.influx import InfluxClient, InfluxError
from apps.traces.tracestore import DbTraceStore, InfluxTraceStore, TraceStore
from simcoach_agent.channels import BY_NAME

pytestmark = pytest.mark.django_db(transaction=True)


def columns(n: int, start: int = 0) -> dict[str, np.ndarray]:
    frames = loop_frames(start_seq=start, n=n)
    return {k: np.array([f[k] for f in frames], dtype=np.float64) for k in frames[0]}


@pytest.fixture(params=["db", "influx"])
def store(request, settings) -> TraceStore:  # type: ignore[no-untyped-def]
    if request.param == "db":
        return DbTraceStore()
    return request.getfixturevalue("influx_store")


def make_session(driver):  # type: ignore[no-untyped-def]
    return session_open(owner=driver, rig_id=None, agent_uid="u", game="demo", track="Loop", car="Car")


def test_it_round_trips_frames_in_time_order(store: TraceStore, driver) -> None:
    session = make_session(driver)
    cols = columns(120)
    store.write(
        session_id=session.pk, user_id=driver.pk, seq_start=60, cols={k: v[60:] for k, v in cols.items()}
    )
    store.write(
        session_id=session.pk, user_id=driver.pk, seq_start=0, cols={k: v[:60] for k, v in cols.items()}
    )
    got = store.read(session_id=session.pk, t0=cols["t"][0], t1=cols["t"][-1])
    assert len(got["t"]) == 120
    assert np.all(np.diff(got["t"]) > 0)
    np.testing.assert_allclose(got["t"], cols["t"], atol=1e-3)
    # Kept to the channel's wire resolution (1 cm for positions), as the agent sends them.
    np.testing.assert_allclose(got["speed"], cols["speed"], atol=BY_NAME["speed"].resolution / 2)
    np.testing.assert_allclose(got["pos_x"], cols["pos_x"], atol=BY_NAME["pos_x"].resolution / 2)


def test_it_reads_a_time_window_and_chosen_channels(store: TraceStore, driver) -> None:
    session = make_session(driver)
    cols = columns(180)
    store.write(session_id=session.pk, user_id=driver.pk, seq_start=0, cols=cols)
    t0, t1 = cols["t"][30], cols["t"][89]
    got = store.read(session_id=session.pk, t0=t0, t1=t1, channels=["speed", "rpm"])
    assert len(got["t"]) == 60
    assert {"t", "speed", "rpm"} <= set(got) and "pos_x" not in got


def test_an_open_ended_window_reads_everything_in_both_stores(store: TraceStore, driver) -> None:
    session = make_session(driver)
    cols = columns(90)
    store.write(session_id=session.pk, user_id=driver.pk, seq_start=0, cols=cols)
    got = store.read(session_id=session.pk, t0=-math.inf, t1=math.inf, channels=["speed"])
    assert len(got["t"]) == 90
    assert len(store.read(session_id=session.pk, t0=cols["t"][45], t1=math.inf)["t"]) == 45


def test_it_leaves_out_missing_values_and_keeps_the_rest_of_their_frames(store: TraceStore, driver) -> None:
    session = make_session(driver)
    cols = columns(30)
    cols["speed"][5], cols["pos_x"][6], cols["rpm"][7] = np.nan, np.inf, -np.inf
    cols["tyre_temp_fl"][:] = np.nan  # a channel this game never sends
    store.write(session_id=session.pk, user_id=driver.pk, seq_start=0, cols=cols)
    got = store.read(session_id=session.pk, t0=cols["t"][0], t1=cols["t"][-1])
    assert len(got["t"]) == 30
    assert np.isnan(got["speed"][5]) and np.isfinite(np.delete(got["speed"], 5)).all()
    assert not np.isfinite(got["pos_x"][6]) and not np.isfinite(got["rpm"][7])
    assert got["pos_x"][5] == pytest.approx(cols["pos_x"][5], abs=0.005)
    assert np.isnan(got.get("tyre_temp_fl", np.full(30, np.nan))).all()


def test_it_ignores_a_rewrite_of_the_same_frames(store: TraceStore, driver) -> None:
    session = make_session(driver)
    cols = columns(60)
    for _ in range(2):
        store.write(session_id=session.pk, user_id=driver.pk, seq_start=0, cols=cols)
    got = store.read(session_id=session.pk, t0=cols["t"][0], t1=cols["t"][-1])
    assert len(got["t"]) == 60


def test_it_keeps_sessions_apart(store: TraceStore, driver) -> None:
    a = make_session(driver)
    b = session_open(owner=driver, rig_id=None, agent_uid="v", game="demo", track="Loop", car="Car")
    cols = columns(30)
    store.write(session_id=a.pk, user_id=driver.pk, seq_start=0, cols=cols)
    assert len(store.read(session_id=b.pk, t0=cols["t"][0], t1=cols["t"][-1])["t"]) == 0


def test_it_reports_an_unreachable_influx_as_transient() -> None:
    from tests.influxd import free_port

    client = InfluxClient(url=f"http://127.0.0.1:{free_port()}", database="x", timeout_s=1)
    with pytest.raises(InfluxError) as err:
        InfluxTraceStore(client).write(session_id=1, user_id=1, seq_start=0, cols=columns(3))
    assert err.value.transient


def test_line_protocol_writes_each_value_to_its_decimals_and_the_odd_rows_one_by_one() -> None:
    from apps.traces.lib.influx import lines

    tags = {"session": np.array([7, 7, 7]), "lap": np.array([1, 1, 2])}
    fields = {
        "speed": np.array([123.456, np.nan, 99.0]),
        "gear": np.array([3.0, 4.0, 5.0]),
        "big": np.array([1.5, 2.5, 1e17]),  # 1e17 scaled by 10**3 is past 2**53
    }
    out = lines("m", tags, fields, {"speed": 2, "gear": 0, "big": 3}, np.array([1000, 1017, 1033]))

    assert out.decode().split("\n") == [
        "m,session=7,lap=1 speed=12346e-2,gear=3,big=1500e-3 1000",
        "m,session=7,lap=1 gear=4,big=2500e-3 1017",  # the NaN is left out, the rest kept
        "m,session=7,lap=2 speed=9900e-2,gear=5,big=1e+17 1033",  # too big to scale: written as is
    ]


def held_columns(n: int) -> dict[str, np.ndarray]:
    """Frames whose channels mostly hold still, with runs of missing values, over laps."""
    rnd = np.random.default_rng(11)
    cols = columns(n)
    cols["lap"] = np.where(np.arange(n) < n // 3, 1.0, 2.0)
    cols["gear"] = np.repeat(rnd.integers(1, 7, n // 25 + 1), 25)[:n].astype(float)
    cols["fuel"] = np.round(50 - np.arange(n) // 40 * 0.1, 1)
    cols["fuel"][70:95] = np.nan  # finite -> missing -> finite, inside a second
    cols["tyre_temp_fl"] = np.full(n, 80.0)
    cols["tyre_temp_fl"][:45] = np.nan  # a channel that starts late
    cols["brake"] = np.where(rnd.random(n) < 0.1, 0.5, 0.0)
    return cols


def test_influx_stores_held_values_once_and_reads_every_frame_back(influx_store, driver) -> None:
    session = make_session(driver)
    cols = held_columns(400)
    influx_store.write(session_id=session.pk, user_id=driver.pk, seq_start=0, cols=cols)
    rnd = np.random.default_rng(3)
    windows = [(0, 399), (1, 398), (71, 90), (59, 61), (100, 300)] + [
        tuple(sorted(rnd.integers(0, 400, 2))) for _ in range(10)
    ]
    for lo, hi in windows:
        for channels in (None, ["fuel", "gear"], ["tyre_temp_fl"]):
            got = influx_store.read(
                session_id=session.pk, t0=cols["t"][lo], t1=cols["t"][hi], channels=channels
            )
            assert len(got["t"]) == hi - lo + 1, (lo, hi, channels)
            for name in channels or ["fuel", "gear", "tyre_temp_fl", "brake", "lap", "speed"]:
                np.testing.assert_allclose(
                    got[name],
                    cols[name][lo : hi + 1],
                    atol=0.006,
                    equal_nan=True,
                    err_msg=f"{name} {lo}..{hi}",
                )


def test_influx_line_protocol_leaves_out_what_held_still(influx_store) -> None:
    from apps.traces.tracestore import TraceWrite

    cols = held_columns(600)
    body = InfluxTraceStore._lines([TraceWrite(1, 1, 0, cols)]).decode().split("\n")
    assert len(body) == 600
    keyframes = [int(line.split(",seq=")[1].split(",")[0]) for line in body if "keyframe=1" in line]
    # Whole rows: the first of each of the 10 seconds, the lap change, fuel going missing.
    assert keyframes == [0, 60, 70, 120, 180, 200, 240, 300, 360, 420, 480, 540]
    written = sum(line.split(" ")[1].count("=") for line in body)
    assert written < 0.5 * 600 * (len(cols) - 1)
    assert ",tyre_temp_fl=800e-1," in body[45] and "tyre_temp_fl=" not in body[46]


def test_influx_reads_rows_written_whole_before_keyframes(influx_store, driver) -> None:
    from apps.traces.lib.influx import lines
    from apps.traces.tracestore import MEASUREMENT

    session = make_session(driver)
    everything = held_columns(180)
    everything["speed"][10:20] = np.nan
    cols = {k: v[:90] for k, v in everything.items()}
    fields = {k: v for k, v in cols.items() if k not in ("t", "lap")} | {"seq": np.arange(90)}
    tags = {"user": np.full(90, driver.pk), "session": np.full(90, session.pk), "lap": cols["lap"]}
    old = lines(MEASUREMENT, tags, fields, {k: 3 for k in fields}, np.rint(cols["t"] * 1000))
    influx_store.client.write([old])
    # The session goes on after an upgrade: its next frames are written sparse.
    influx_store.write(
        session_id=session.pk,
        user_id=driver.pk,
        seq_start=90,
        cols={k: v[90:] for k, v in everything.items()},
    )
    for lo, hi in ((0, 179), (0, 89), (30, 120), (95, 179)):
        for channels in (None, ["speed", "fuel"]):
            t0, t1 = everything["t"][lo], everything["t"][hi]
            got = influx_store.read(session_id=session.pk, t0=t0, t1=t1, channels=channels)
            for name in ("speed", "fuel"):
                want = everything[name][lo : hi + 1]
                np.testing.assert_allclose(
                    got[name], want, atol=0.006, equal_nan=True, err_msg=f"{name} {lo}..{hi}"
                )
    # Rows another writer left without `seq` read in time order.
    del fields["seq"]
    other = make_session(driver)
    tags["session"] = np.full(90, other.pk)
    influx_store.client.write(
        [lines(MEASUREMENT, tags, fields, {k: 3 for k in fields}, np.rint(cols["t"] * 1000))]
    )
    got = influx_store.read(session_id=other.pk, t0=cols["t"][0], t1=cols["t"][-1], channels=["speed"])
    np.testing.assert_allclose(got["speed"], cols["speed"], atol=0.001, equal_nan=True)


def test_influx_reads_held_values_right_when_the_rigs_clock_steps_back(influx_store, driver) -> None:
    session = make_session(driver)
    cols = held_columns(300)
    t = cols["t"].copy()
    # Steps that are not whole frames: InfluxDB keeps one point per series and millisecond.
    t[100:] -= 0.2925  # corrected within a second: frames 100.. overlap 83..99 in time
    t[200:] -= 2.0075  # and across seconds, at a write's boundary below
    cols["t"] = t
    for lo, hi in ((0, 150), (150, 200), (200, 300)):
        part = {k: v[lo:hi] for k, v in cols.items()}
        influx_store.write(session_id=session.pk, user_id=driver.pk, seq_start=lo, cols=part)
    order = np.argsort(t, kind="stable")
    for t0, t1 in ((t.min(), t.max()), (t[95], t[120]), (t[210], t[260]), (t[150], t[199])):
        want = order[(t[order] >= t0 - 5e-4) & (t[order] <= t1 + 5e-4)]
        got = influx_store.read(session_id=session.pk, t0=t0, t1=t1)
        np.testing.assert_allclose(got["t"], t[want], atol=1e-3)
        for name in ("fuel", "gear", "tyre_temp_fl", "brake", "speed"):
            np.testing.assert_allclose(got[name], cols[name][want], atol=0.006, equal_nan=True, err_msg=name)
