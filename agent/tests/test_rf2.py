import struct

import pytest
from gamebytes import rf2_extended, rf2_scoring, rf2_telemetry

from simcoach_agent.sources.layout import LayoutError
from simcoach_agent.sources.rf2 import Rf2Decoder, Rf2Transport, copy_whole, whole

WHEELS = [
    {"mBrakeTemp": 500.0, "mPressure": 170.0, "mTemperature": (360.0, 365.0, 370.0), "mWear": 0.95},
    {"mBrakeTemp": 510.0, "mPressure": 171.0, "mTemperature": (350.0, 355.0, 358.0), "mWear": 0.95},
    {"mBrakeTemp": 400.0, "mPressure": 172.0, "mTemperature": (340.0, 345.0, 348.0), "mWear": 1.0},
    {"mBrakeTemp": 410.0, "mPressure": 173.0, "mTemperature": (330.0, 335.0, 338.0), "mWear": 1.0},
]


def car(**over: object) -> dict[str, object]:
    base = {
        "mID": 42, "mElapsedTime": 100.1, "mLapStartET": 70.0, "mPos": (10.0, 1.0, 20.0),
        "mLocalVel": (0.0, 0.0, -50.0), "mLocalAccel": (-9.80665, 0.0, 0.0), "mGear": 4,
        "mEngineRPM": 8000.0, "mEngineMaxRPM": 9000.0, "mEngineWaterTemp": 88.0,
        "mUnfilteredThrottle": 1.0, "mUnfilteredSteering": -0.5, "mFuel": 30.0,
        "mFuelCapacity": 90.0, "wheels": WHEELS,
    }  # fmt: skip
    return {**base, **over}


def scored(**over: object) -> dict[str, object]:
    base = {
        "mID": 42, "mVehicleName": "Oreca 07 #22", "mTotalLaps": 5, "mSector": 1, "mLapDist": 1500.0,
        "mBestLapTime": 210.5, "mLastLapTime": 211.0, "mIsPlayer": 1, "mControl": 0,
        "mVehicleClass": "LMP2", "mCountLapFlag": 2,
    }  # fmt: skip
    return {**base, **over}


INFO = {
    "mTrackName": "Le Mans", "mSession": 10, "mCurrentET": 100.0, "mLapDist": 13626.0, "mGamePhase": 5,
    "mAmbientTemp": 18.5, "mTrackTemp": 26.0,
}  # fmt: skip
OTHER = {"mID": 7, "mIsPlayer": 0, "mControl": 1}


def chunks(telemetry: bytes, scoring: bytes | None = None) -> list[tuple[str, bytes]]:
    out = [("extended", rf2_extended())]
    if scoring is not None:
        out.append(("scoring", scoring))
    return [*out, ("telemetry", telemetry)]


def test_it_joins_telemetry_and_scoring_by_id() -> None:
    dec = Rf2Decoder()
    tel = rf2_telemetry([car(mID=7, mGear=1), car()])  # the player is the second telemetry slot
    f = dec.feed(chunks(tel, rf2_scoring(INFO, [scored(), OTHER])), 1.0)
    assert f is not None
    assert f["gear"] == 4 and f["speed"] == pytest.approx(180.0)
    assert f["lap"] == 6 and f["sector"] == 0  # rF2 mSector 1 = first sector
    assert f["lap_dist"] == pytest.approx(1500.0 + 50.0 * 0.1, rel=1e-6)  # moved on by speed × age
    assert f["lap_time"] == pytest.approx(30.1)
    assert f["last_lap_time"] == 211.0 and f["best_lap_time"] == 210.5
    assert f["tyre_temp_fl"] == pytest.approx(365.0 - 273.15)
    assert f["tyre_temp_in_fl"] == pytest.approx(370.0 - 273.15)
    assert f["tyre_press_fr"] == 171.0 and f["brake_temp_rl"] == 400.0
    assert (f["air_temp"], f["track_temp"]) == (18.5, 26.0)
    assert f["tyre_wear_fl"] == pytest.approx(5.0)
    assert f["g_lat"] == pytest.approx(1.0)  # +x is left: a push to the right
    assert f["lap_valid"] == 1
    info = dec.info()
    assert info is not None and info.kind == "race" and info.car_class == "LMP2"
    assert info.track_length_m == 13626.0


@pytest.mark.parametrize("gear", [-1, 0])
def test_it_passes_reverse_and_neutral(gear: int) -> None:
    f = Rf2Decoder().feed(chunks(rf2_telemetry([car(mGear=gear)]), rf2_scoring(INFO, [scored()])), 1.0)
    assert f is not None and f["gear"] == gear


def test_it_reports_pit_and_uncounted_lap() -> None:
    sc = rf2_scoring(INFO, [scored(mInPits=1, mCountLapFlag=0, mLastLapTime=-1.0)])
    f = Rf2Decoder().feed(chunks(rf2_telemetry([car()]), sc), 1.0)
    assert f is not None and f["in_pit"] == 1 and f["lap_valid"] == 0 and f["last_lap_time"] == -1


def test_it_drops_a_torn_telemetry_copy() -> None:
    sc = rf2_scoring(INFO, [scored()])
    assert Rf2Decoder().feed(chunks(rf2_telemetry([car()], version=8, end=7), sc), 1.0) is None


def test_it_drops_an_unchanged_version() -> None:
    dec = Rf2Decoder()
    sc = rf2_scoring(INFO, [scored()])
    assert dec.feed(chunks(rf2_telemetry([car()], version=3), sc), 1.0) is not None
    assert dec.feed(chunks(rf2_telemetry([car()], version=3)), 2.0) is None
    assert dec.feed(chunks(rf2_telemetry([car()], version=4)), 3.0) is not None


@pytest.mark.parametrize(
    ("info", "veh"), [({"mGamePhase": 9}, {}), ({}, {"mControl": 3}), ({}, {"mControl": 1})]
)
def test_it_skips_pause_replay_and_ai(info: dict[str, int], veh: dict[str, int]) -> None:
    sc = rf2_scoring({**INFO, **info}, [scored(**veh)])
    assert Rf2Decoder().feed(chunks(rf2_telemetry([car()]), sc), 1.0) is None


def test_it_refuses_another_plugin_layout() -> None:
    with pytest.raises(LayoutError, match="plugin 4.0.1.0 is not supported"):
        Rf2Decoder().feed([("extended", rf2_extended("4.0.1.0")), ("telemetry", rf2_telemetry([car()]))], 1.0)


def test_it_returns_none_before_a_session() -> None:
    dec = Rf2Decoder()
    zero = [("extended", bytes(32)), ("scoring", bytes(75_312)), ("telemetry", bytes(241_680))]
    assert dec.feed(zero, 1.0) is None and dec.info() is None


class ScriptedBuffer:
    """A plugin buffer whose copies and version-block re-reads follow a script."""

    def __init__(self, copies: list[bytes], heads: list[bytes]) -> None:
        self.copies, self.heads = copies, heads
        self.reads = 0

    def read(self) -> bytes | None:
        self.reads += 1
        return self.copies.pop(0) if self.copies else None

    def head(self, n: int) -> bytes | None:
        return self.heads.pop(0)[:n] if self.heads else None

    def close(self) -> None:
        pass


def torn_copy(body_from: bytes, version: int) -> bytes:
    """What a reader copies when write ``version + 1`` starts right after it copied the
    version block: the block still says version/version, the body is already the next write."""
    return struct.pack("<II", version, version) + body_from[8:]


def transport(telemetry: ScriptedBuffer) -> Rf2Transport:
    sc = rf2_scoring(INFO, [scored()])
    pages = {
        "telemetry": telemetry,
        "scoring": ScriptedBuffer([sc], [sc]),
        "extended": ScriptedBuffer([rf2_extended()], [rf2_extended()]),
    }
    return Rf2Transport(retries=3, pages=pages)


def test_a_copy_overtaken_by_the_next_write_is_rejected_and_read_again() -> None:
    write8 = rf2_telemetry([car(mGear=5)], version=8)
    torn = torn_copy(write8, 7)
    assert whole(torn)  # the check inside the copy alone passes it
    buf = ScriptedBuffer([torn, write8], [write8, write8])
    chunks = dict(transport(buf).poll())
    assert buf.reads == 2 and chunks["telemetry"][:8] == write8[:8]
    tel = [("extended", rf2_extended()), ("scoring", rf2_scoring(INFO, [scored()]))]
    f = Rf2Decoder().feed([*tel, ("telemetry", chunks["telemetry"])], 1.0)
    assert f is not None and f["gear"] == 5


def test_a_buffer_torn_on_every_try_yields_nothing() -> None:
    write8 = rf2_telemetry([car()], version=8)
    torn = torn_copy(write8, 7)
    buf = ScriptedBuffer([torn] * 3, [write8] * 3)
    assert "telemetry" not in dict(transport(buf).poll())
    assert buf.reads == 3


def test_copy_whole_takes_a_copy_no_write_overlapped() -> None:
    write7 = rf2_telemetry([car()], version=7)
    assert copy_whole(ScriptedBuffer([write7], [write7]), 3) == write7
    assert copy_whole(ScriptedBuffer([], []), 3) is None  # the game closed the buffer
    begun = rf2_telemetry([car()], version=8, end=7)  # a write under way when the copy began
    assert copy_whole(ScriptedBuffer([begun], [begun]), 1) is None
