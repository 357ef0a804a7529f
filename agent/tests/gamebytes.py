"""Lay out game buffers field by field at the published offsets, for decoder tests.

Each table maps a field name (as the game's header spells it) to ``(offset, format)``; the
offsets are typed in here from the public headers on purpose, independently of the decoders,
so a test cross-checks both. Formats: a struct code ("i", "3d", "4f"...), "<n>s" for an 8-bit
string, "w<n>" for a wchar_t[n] string (UTF-16LE).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

Layout = Mapping[str, tuple[int, str]]


def pack_fields(buf: bytearray, layout: Layout, values: Mapping[str, Any], base: int = 0) -> None:
    for name, value in values.items():
        off, fmt = layout[name]
        off += base
        if fmt.startswith("w"):
            raw = value.encode("utf-16-le")[: 2 * (int(fmt[1:]) - 1)]
            buf[off : off + len(raw)] = raw
        elif fmt.endswith("s"):
            raw = value.encode("utf-8") if isinstance(value, str) else value
            struct.pack_into(f"<{fmt}", buf, off, raw)
        elif isinstance(value, Sequence):
            struct.pack_into(f"<{fmt}", buf, off, *value)
        else:
            struct.pack_into(f"<{fmt}", buf, off, value)


def page(size: int, layout: Layout, values: Mapping[str, Any]) -> bytes:
    buf = bytearray(size)
    pack_fields(buf, layout, values)
    return bytes(buf)


# ---- ACC (pack 4) ------------------------------------------------------------------------
ACC_PHYSICS = {
    "packetId": (0, "i"), "gas": (4, "f"), "brake": (8, "f"), "fuel": (12, "f"), "gear": (16, "i"),
    "rpms": (20, "i"), "steerAngle": (24, "f"), "speedKmh": (28, "f"), "accG": (44, "3f"),
    "wheelsPressure": (88, "4f"), "tyreCoreTemperature": (152, "4f"), "brakeTemp": (348, "4f"),
    "clutch": (364, "f"), "slipRatio": (640, "4f"), "tcinAction": (672, "i"),
    "absInAction": (676, "i"), "waterTemp": (712, "f"), "airTemp": (288, "f"), "roadTemp": (292, "f"),
}  # fmt: skip
ACC_GRAPHICS = {
    "packetId": (0, "i"), "status": (4, "i"), "session": (8, "i"), "completedLaps": (132, "i"),
    "position": (136, "i"), "iCurrentTime": (140, "i"), "iLastTime": (144, "i"),
    "iBestTime": (148, "i"), "distanceTraveled": (156, "f"), "isInPit": (160, "i"),
    "currentSectorIndex": (164, "i"), "lastSectorTime": (168, "i"), "normalizedCarPosition": (248, "f"),
    "activeCars": (252, "i"), "carCoordinates0": (256, "3f"), "carCoordinates1": (268, "3f"),
    "carID0": (976, "i"), "carID1": (980, "i"), "playerCarID": (1216, "i"), "flag": (1224, "i"),
    "isInPitLane": (1236, "i"), "isValidLap": (1408, "i"),
}  # fmt: skip
ACC_STATIC = {
    "smVersion": (0, "w15"), "acVersion": (30, "w15"), "carModel": (68, "w33"),
    "track": (134, "w33"), "maxRpm": (412, "i"), "maxFuel": (416, "f"),
}  # fmt: skip


def acc_pages(
    physics: Mapping[str, Any], graphics: Mapping[str, Any], static: Mapping[str, Any] | None = None
) -> list[tuple[str, bytes]]:
    chunks: list[tuple[str, bytes]] = []
    if static is not None:
        chunks.append(("static", page(820, ACC_STATIC, static)))
    chunks.append(("physics", page(800, ACC_PHYSICS, physics)))
    chunks.append(("graphics", page(1588, ACC_GRAPHICS, graphics)))
    return chunks


# ---- R3E v3 (pack 1) ---------------------------------------------------------------------
R3E = {
    "version_major": (0, "i"), "version_minor": (4, "i"), "game_paused": (20, "i"),
    "game_in_menus": (24, "i"), "game_in_replay": (28, "i"), "game_simulation_ticks": (44, "i"),
    "player.position": (56, "3d"), "player.local_g_force": (296, "3d"),
    "track_name": (600, "64s"), "layout_name": (664, "64s"), "track_id": (728, "i"),
    "layout_id": (732, "i"), "layout_length": (736, "f"), "session_type": (780, "i"),
    "in_pitlane": (848, "i"), "flags.yellow": (932, "i"), "flags.blue": (964, "i"),
    "position": (988, "i"), "position_class": (992, "i"), "sector_time_previous_self": (1088, "3f"),
    "time_delta_front": (1124, "f"), "time_delta_behind": (1128, "f"),
    "flags.checkered": (976, "i"), "completed_laps": (1028, "i"), "current_lap_valid": (1032, "i"),
    "track_sector": (1036, "i"), "lap_distance": (1040, "f"), "lap_time_best_self": (1068, "f"),
    "lap_time_previous_self": (1084, "f"), "lap_time_current_self": (1100, "f"),
    "vehicle_info.name": (1196, "64s"), "car_speed": (1392, "f"), "engine_rps": (1396, "f"),
    "max_engine_rps": (1400, "f"), "gear": (1408, "i"), "fuel_left": (1456, "f"),
    "fuel_capacity": (1460, "f"), "engine_temp": (1480, "f"), "engine_oil_temp": (1484, "f"),
    "throttle": (1500, "f"), "brake": (1508, "f"), "clutch": (1516, "f"),
    "steer_input_raw": (1524, "f"), "tire_wear": (1680, "4f"), "tire_pressure": (1712, "4f"),
    "tire_temp.fl": (1744, "3f"), "tire_temp.fr": (1768, "3f"), "tire_temp.rl": (1792, "3f"),
    "tire_temp.rr": (1816, "3f"), "brake_temp.fl": (1856, "f"), "brake_temp.fr": (1872, "f"),
    "brake_temp.rl": (1888, "f"), "brake_temp.rr": (1904, "f"),
}  # fmt: skip


def r3e_page(values: Mapping[str, Any]) -> bytes:
    return page(43_996, R3E, values)


# ---- rF2 / LMU ISI structs (pack 4) -------------------------------------------------------
TELEM = {
    "mID": (0, "i"), "mElapsedTime": (12, "d"), "mLapNumber": (20, "i"), "mLapStartET": (24, "d"),
    "mVehicleName": (32, "64s"), "mTrackName": (96, "64s"), "mPos": (160, "3d"),
    "mLocalVel": (184, "3d"), "mLocalAccel": (208, "3d"), "mGear": (352, "i"),
    "mEngineRPM": (356, "d"), "mEngineWaterTemp": (364, "d"), "mEngineOilTemp": (372, "d"),
    "mUnfilteredThrottle": (388, "d"), "mUnfilteredBrake": (396, "d"),
    "mUnfilteredSteering": (404, "d"), "mUnfilteredClutch": (412, "d"), "mFuel": (524, "d"),
    "mEngineMaxRPM": (532, "d"), "mCurrentSector": (600, "i"), "mFuelCapacity": (608, "d"),
    "mLapInvalidated": (745, "B"), "mABSActive": (746, "B"), "mTCActive": (747, "B"),
    "mVehicleModel": (796, "30s"),
}  # fmt: skip
WHEEL = {"mBrakeTemp": (24, "d"), "mPressure": (120, "d"), "mTemperature": (128, "3d"), "mWear": (152, "d")}
SCORING_INFO = {
    "mTrackName": (0, "64s"), "mSession": (64, "i"), "mCurrentET": (68, "d"), "mEndET": (76, "d"),
    "mLapDist": (88, "d"), "mNumVehicles": (104, "i"), "mGamePhase": (108, "B"),
    "mAmbientTemp": (228, "d"), "mTrackTemp": (236, "d"),
}  # fmt: skip
VEH_SCORING = {
    "mID": (0, "i"), "mDriverName": (4, "32s"), "mVehicleName": (36, "64s"), "mTotalLaps": (100, "h"),
    "mSector": (102, "b"), "mLapDist": (104, "d"), "mBestSector1": (128, "d"),
    "mBestSector2": (136, "d"), "mBestLapTime": (144, "d"), "mLastSector1": (152, "d"),
    "mLastSector2": (160, "d"), "mLastLapTime": (168, "d"), "mCurSector1": (176, "d"),
    "mCurSector2": (184, "d"), "mIsPlayer": (196, "B"), "mControl": (197, "b"),
    "mInPits": (198, "B"), "mPlace": (199, "B"), "mVehicleClass": (200, "32s"),
    "mTimeBehindNext": (232, "d"), "mLapsBehindNext": (240, "i"), "mTimeBehindLeader": (244, "d"),
    "mLapsBehindLeader": (252, "i"), "mLapStartET": (256, "d"), "mFlag": (504, "B"),
    "mCountLapFlag": (506, "B"),
}  # fmt: skip


def _telem_vehicle(buf: bytearray, base: int, values: Mapping[str, Any]) -> None:
    fields = {k: v for k, v in values.items() if k != "wheels"}
    pack_fields(buf, TELEM, fields, base)
    for i, wheel in enumerate(values.get("wheels", ())):
        pack_fields(buf, WHEEL, wheel, base + 848 + 260 * i)


def rf2_telemetry(vehicles: Sequence[Mapping[str, Any]], version: int = 1, end: int | None = None) -> bytes:
    buf = bytearray(241_680)
    struct.pack_into("<IIii", buf, 0, version, version if end is None else end, 0, len(vehicles))
    for i, v in enumerate(vehicles):
        _telem_vehicle(buf, 16 + 1888 * i, v)
    return bytes(buf)


def rf2_scoring(info: Mapping[str, Any], vehicles: Sequence[Mapping[str, Any]], version: int = 1) -> bytes:
    buf = bytearray(75_312)
    struct.pack_into("<II", buf, 0, version, version)
    pack_fields(buf, SCORING_INFO, {"mNumVehicles": len(vehicles), **info}, 12)
    for i, v in enumerate(vehicles):
        pack_fields(buf, VEH_SCORING, v, 560 + 584 * i)
    return bytes(buf)


def rf2_extended(plugin_version: str = "3.7.15.1") -> bytes:
    buf = bytearray(32)
    struct.pack_into("<II12s", buf, 0, 5, 5, plugin_version.encode())
    return bytes(buf)


def lmu_page(
    info: Mapping[str, Any],
    scoring: Sequence[Mapping[str, Any]],
    telemetry: Sequence[Mapping[str, Any]],
    player_idx: int = 0,
    has_vehicle: bool = True,
) -> bytes:
    buf = bytearray(324_820)
    pack_fields(buf, SCORING_INFO, {"mNumVehicles": len(scoring), **info}, 1632)
    for i, v in enumerate(scoring):
        pack_fields(buf, VEH_SCORING, v, 2192 + 584 * i)
    struct.pack_into("<BB?", buf, 128_464, len(telemetry), player_idx, has_vehicle)
    for i, v in enumerate(telemetry):
        _telem_vehicle(buf, 128_468 + 1888 * i, v)
    return bytes(buf)


# ---- AMS2 $pcars2$ v14 (natural alignment) ------------------------------------------------
PCARS2 = {
    "mVersion": (0, "I"), "mGameState": (8, "I"), "mSessionState": (12, "I"),
    "mViewedParticipantIndex": (20, "i"), "mNumParticipants": (24, "i"),
    "mUnfilteredThrottle": (6428, "f"), "mUnfilteredBrake": (6432, "f"),
    "mUnfilteredSteering": (6436, "f"), "mUnfilteredClutch": (6440, "f"), "mCarName": (6444, "64s"),
    "mCarClassName": (6508, "64s"), "mTrackLocation": (6576, "64s"), "mTrackVariation": (6640, "64s"),
    "mTrackLength": (6704, "f"), "mLapInvalidated": (6712, "?"), "mBestLapTime": (6716, "f"),
    "mLastLapTime": (6720, "f"), "mCurrentTime": (6724, "f"), "mSplitTimeAhead": (6728, "f"), "mHighestFlagColour": (6800, "I"),
    "mPitMode": (6808, "I"), "mCarFlags": (6816, "I"), "mOilTempCelsius": (6820, "f"),
    "mWaterTempCelsius": (6828, "f"), "mFuelLevel": (6840, "f"), "mFuelCapacity": (6844, "f"),
    "mSpeed": (6848, "f"), "mRpm": (6852, "f"), "mMaxRPM": (6856, "f"), "mGear": (6876, "i"),
    "mAntiLockActive": (6888, "?"), "mLocalAcceleration": (6956, "3f"), "mTyreTemp": (7072, "4f"),
    "mTyreWear": (7136, "4f"), "mBrakeTempCelsius": (7184, "4f"), "mSequenceNumber": (7320, "I"),
    "mAirPressure": (7372, "4f"), "mTyreTempLeft": (20584, "4f"), "mTyreTempCenter": (20600, "4f"),
    "mTyreTempRight": (20616, "4f"),
}  # fmt: skip
PARTICIPANT = {
    "mIsActive": (0, "?"), "mName": (1, "64s"), "mWorldPosition": (68, "3f"),
    "mCurrentLapDistance": (80, "f"), "mRacePosition": (84, "I"), "mLapsCompleted": (88, "I"),
    "mCurrentLap": (92, "I"), "mCurrentSector": (96, "i"),
}  # fmt: skip


def pcars2_page(values: Mapping[str, Any], participants: Sequence[Mapping[str, Any]] = ()) -> bytes:
    buf = bytearray(20_700)
    pack_fields(buf, PCARS2, values)
    for i, p in enumerate(participants):
        pack_fields(buf, PARTICIPANT, p, 28 + 100 * i)
    return bytes(buf)


# ---- AMS2 / PC2 UDP (pack 1) ---------------------------------------------------------------
UDP_TELEMETRY = {
    "sViewedParticipantIndex": (12, "b"), "sUnfilteredThrottle": (13, "B"),
    "sUnfilteredBrake": (14, "B"), "sUnfilteredSteering": (15, "b"), "sUnfilteredClutch": (16, "B"),
    "sCarFlags": (17, "B"), "sOilTempCelsius": (18, "h"), "sWaterTempCelsius": (22, "h"),
    "sFuelCapacity": (28, "B"), "sFuelLevel": (32, "f"), "sSpeed": (36, "f"), "sRpm": (40, "H"),
    "sMaxRpm": (42, "H"), "sGearNumGears": (45, "B"), "sLocalAcceleration": (100, "3f"),
    "sTyreTemp": (176, "4B"), "sTyreWear": (196, "4B"), "sBrakeTempCelsius": (208, "4h"),
    "sAirPressure": (352, "4H"), "sEngineSpeed": (360, "f"), "sFullPosition": (542, "3f"),
    "sBrakeBias": (554, "B"), "sTickCount": (555, "I"),
}  # fmt: skip
UDP_RACE = {
    "sPersonalFastestLapTime": (16, "f"), "sTrackLength": (44, "f"),
    "sTrackLocation": (48, "64s"), "sTrackVariation": (112, "64s"),
}  # fmt: skip
UDP_TIMINGS = {"sNumParticipants": (12, "b"), "sEventTimeRemaining": (17, "f"), "sSplitTimeAhead": (21, "f")}
UDP_PARTICIPANT = {
    "sWorldPosition": (0, "3h"), "sCurrentLapDistance": (12, "H"), "sRacePosition": (14, "B"),
    "sSector": (15, "B"), "sHighestFlag": (16, "B"), "sPitModeSchedule": (17, "B"),
    "sCarIndex": (18, "H"), "sRaceState": (20, "B"), "sCurrentLap": (21, "B"),
    "sCurrentTime": (22, "f"), "sCurrentSectorTime": (26, "f"),
}  # fmt: skip
UDP_GAME_STATE = {"mBuildVersionNumber": (12, "H"), "mGameState": (14, "B")}
UDP_STATS = {"sFastestLapTime": (0, "f"), "sLastLapTime": (4, "f")}


def udp_header(
    buf: bytearray, number: int, kind: int, part: int = 1, parts: int = 1, category: int = 0
) -> None:
    struct.pack_into("<IIBBBB", buf, 0, number, category or number, part, parts, kind, 1)


def udp_telemetry(number: int, values: Mapping[str, Any], size: int = 559) -> bytes:
    buf = bytearray(size)
    udp_header(buf, number, 0)
    pack_fields(buf, UDP_TELEMETRY, {k: v for k, v in values.items() if UDP_TELEMETRY[k][0] < size})
    return bytes(buf)


def udp_race(number: int, values: Mapping[str, Any]) -> bytes:
    buf = bytearray(308)
    udp_header(buf, number, 1)
    pack_fields(buf, UDP_RACE, values)
    return bytes(buf)


def udp_timings(
    number: int, participants: Sequence[Mapping[str, Any]], wide: bool = True, split_ahead: float = -1.0
) -> bytes:
    """The later revision (32-byte participants, 1 063 B) or the original (30 B, 993 B)."""
    stride, size = (32, 1063) if wide else (30, 993)
    buf = bytearray(size)
    udp_header(buf, number, 3)
    pack_fields(buf, UDP_TIMINGS, {"sNumParticipants": len(participants), "sSplitTimeAhead": split_ahead})
    for i, p in enumerate(participants):
        pack_fields(buf, UDP_PARTICIPANT, p, 33 + stride * i)
    return bytes(buf)


def udp_game_state(number: int, game_state: int, session_state: int) -> bytes:
    buf = bytearray(24)
    udp_header(buf, number, 4)
    pack_fields(
        buf, UDP_GAME_STATE, {"mBuildVersionNumber": 1234, "mGameState": game_state | session_state << 4}
    )
    return bytes(buf)


def udp_time_stats(number: int, stats: Sequence[Mapping[str, Any]]) -> bytes:
    buf = bytearray(1040)
    udp_header(buf, number, 7)
    for i, s in enumerate(stats):
        pack_fields(buf, UDP_STATS, s, 16 + 32 * i)
    return bytes(buf)


def udp_participants(number: int, names: Sequence[str], part: int, parts: int) -> bytes:
    buf = bytearray(1136)
    udp_header(buf, number, 2, part, parts)
    for i, name in enumerate(names[:16]):
        struct.pack_into("<64s", buf, 16 + 64 * i, name.encode())
    return bytes(buf)
