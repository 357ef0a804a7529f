"""iRacing's memory-mapped file laid out byte by byte from the SDK's irsdk_defines.h.

Typed in here from the public header, independently of simcoach_agent.irsdk, so the tests
cross-check the reader: a 112-byte header, 144-byte variable headers, the YAML, then numBuf
rows. ``FakeSim`` is the mapped file as the transport sees it, with a hook that lets a test
write into it in the middle of the transport's copy (the sim does not wait for readers).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# (name, irsdk_VarType, count, unit): 0 char, 1 bool, 2 int, 3 bitField, 4 float, 5 double
VARIABLES: Sequence[tuple[str, int, int, str]] = (
    ("SessionTime", 5, 1, "s"),
    ("SessionNum", 2, 1, ""),
    ("SessionFlags", 3, 1, "irsdk_Flags"),
    ("IsOnTrack", 1, 1, ""),
    ("IsReplayPlaying", 1, 1, ""),
    ("Lap", 2, 1, ""),
    ("LapCompleted", 2, 1, ""),
    ("LapDist", 4, 1, "m"),
    ("LapDistPct", 4, 1, "%"),
    ("LapCurrentLapTime", 4, 1, "s"),
    ("LapLastLapTime", 4, 1, "s"),
    ("LapBestLapTime", 4, 1, "s"),
    ("Speed", 4, 1, "m/s"),
    ("RPM", 4, 1, "revs/min"),
    ("Gear", 2, 1, ""),
    ("Throttle", 4, 1, "%"),
    ("Brake", 4, 1, "%"),
    ("Clutch", 4, 1, "%"),
    ("SteeringWheelAngle", 4, 1, "rad"),
    ("SteeringWheelAngleMax", 4, 1, "rad"),
    ("OnPitRoad", 1, 1, ""),
    ("PlayerTrackSurface", 2, 1, "irsdk_TrkLoc"),
    ("PlayerCarMyIncidentCount", 2, 1, ""),
    ("LatAccel", 4, 1, "m/s^2"),
    ("LongAccel", 4, 1, "m/s^2"),
    ("Lat", 5, 1, "deg"),
    ("Lon", 5, 1, "deg"),
    ("Alt", 4, 1, "m"),
    ("FuelLevel", 4, 1, "l"),
    ("WaterTemp", 4, 1, "C"),
    ("OilTemp", 4, 1, "C"),
    ("AirTemp", 4, 1, "C"),
    ("TrackTempCrew", 4, 1, "C"),
    ("CarIdxLapDistPct", 4, 64, "%"),  # an array, as the sim has them
    *[(f"{w}{v}", 4, 1, u) for w in ("LF", "RF", "LR", "RR") for v, u in (
        ("tempCL", "C"), ("tempCM", "C"), ("tempCR", "C"), ("coldPressure", "kPa"),
        ("wearL", "%"), ("wearM", "%"), ("wearR", "%"),
    )],
)  # fmt: skip
SIZES = {0: 1, 1: 1, 2: 4, 3: 4, 4: 4, 5: 8}
CODES = {0: "c", 1: "?", 2: "i", 3: "I", 4: "f", 5: "d"}
VAR_OFFSET, N_BUF = 144, 3

YAML = """---
WeekendInfo:
 TrackName: synthetic
 TrackID: 999
 TrackLength: {length_km:.4f} km
 TrackDisplayName: Synthetic Raceway
 TrackConfigName: {layout}
 TrackLatitude: 47.219000 m
 TrackLongitude: 14.765000 m
 WeekendOptions:
  NumStarters: 0
SessionInfo:
 CurrentSessionNum: 0
 Sessions:
 - SessionNum: 0
   SessionLaps: unlimited
   SessionType: {session0}
   ResultsPositions:
   - Position: 1
     CarIdx: 0
 - SessionNum: 1
   SessionType: Race
SplitTimeInfo:
 Sectors:
 - SectorNum: 0
   SectorStartPct: 0.000000
 - SectorNum: 1
   SectorStartPct: 0.400000
 - SectorNum: 2
   SectorStartPct: 0.750000
DriverInfo:
 DriverCarIdx: 1
 DriverCarRedLine: 7500.000
 DriverCarFuelMaxLtr: 100.000
 DriverCarMaxFuelPct: 0.500
 Drivers:
 - CarIdx: 0
   UserName: Pace Car
   CarScreenName: Safety Car
 - CarIdx: 1
   UserName: "Jo Tester"
   CarScreenName: {car}
   CarClassShortName: GT3
"""


def session_yaml(
    car: str = "Synthetic GT3", layout: str = "Full", session0: str = "Practice", length_km: float = 1.0
) -> bytes:
    return YAML.format(car=car, layout=layout, session0=session0, length_km=length_km).encode("cp1252")


def var_table() -> tuple[bytes, dict[str, tuple[int, int]], int]:
    """The 144-byte headers, {name: (offset, type)} and the row length."""
    raw, where, offset = b"", {}, 0
    for name, vtype, count, unit in VARIABLES:
        raw += struct.pack("<3i?3x", vtype, offset, count, False)
        raw += name.encode().ljust(32, b"\0") + f"{name} (test)".encode().ljust(64, b"\0")
        raw += unit.encode().ljust(32, b"\0")
        where[name] = (offset, vtype)
        offset += SIZES[vtype] * count
    return raw, where, offset + (-offset % 16)


TABLE, WHERE, ROW_LEN = var_table()


def row(values: Mapping[str, Any]) -> bytes:
    buf = bytearray(ROW_LEN)
    for name, value in values.items():
        off, vtype = WHERE[name]
        struct.pack_into("<" + CODES[vtype], buf, off, value)
    return bytes(buf)


class FakeSim:
    """The mapped file: header, variable table, YAML and three rotating row buffers."""

    def __init__(self, yaml: bytes | None = None, status: int = 1) -> None:
        self.yaml_offset = VAR_OFFSET + len(TABLE)
        self.yaml_room = 4096
        self.buf_offset = self.yaml_offset + self.yaml_room
        self.mem = bytearray(self.buf_offset + N_BUF * ROW_LEN)
        self.ticks = [0] * N_BUF
        self.info_update = 0
        self.status = status
        self.mem[VAR_OFFSET : VAR_OFFSET + len(TABLE)] = TABLE
        self.set_yaml(yaml or session_yaml())
        self.on_read: Callable[[int, int], None] | None = None  # called before each row copy
        self.reads = 0

    def set_yaml(self, text: bytes) -> None:
        self.mem[self.yaml_offset : self.yaml_offset + self.yaml_room] = text.ljust(self.yaml_room, b"\0")
        self.yaml_len = len(text)
        self.info_update += 1
        self._header()

    def write(self, tick: int, values: Mapping[str, Any]) -> int:
        """The sim's tick: fill the oldest buffer, then publish its tickCount. Returns its index."""
        i = min(range(N_BUF), key=lambda k: self.ticks[k])
        start = self.buf_offset + i * ROW_LEN
        self.mem[start : start + ROW_LEN] = row(values)
        self.ticks[i] = tick
        self._header()
        return i

    def scribble(self, i: int, tick: int, values: Mapping[str, Any]) -> None:
        """Rewrite buffer i as the sim does when it comes round to it again."""
        start = self.buf_offset + i * ROW_LEN
        self.mem[start : start + ROW_LEN] = row(values)
        self.ticks[i] = tick
        self._header()

    def _header(self) -> None:
        head = struct.pack(
            "<10i2i", 2, self.status, 60, self.info_update, self.yaml_len, self.yaml_offset,
            len(VARIABLES), VAR_OFFSET, N_BUF, ROW_LEN, 0, 0,
        )  # fmt: skip
        for i in range(4):
            tick, off = (self.ticks[i], self.buf_offset + i * ROW_LEN) if i < N_BUF else (0, 0)
            head += struct.pack("<4i", tick, off, 0, 0)
        self.mem[:112] = head

    def read_at(self, offset: int, size: int) -> bytes | None:
        if offset >= self.buf_offset and self.on_read is not None:
            self.on_read(offset, size)  # the sim writes while we copy
        self.reads += 1
        return bytes(self.mem[offset : offset + size])

    def close(self) -> None:
        pass


def driving(**over: Any) -> dict[str, Any]:
    """A car at speed on lap 5, in the values the sim publishes (SI units, radians, fractions)."""
    base = {
        "SessionTime": 100.0, "SessionNum": 0, "SessionFlags": 0x4, "IsOnTrack": True,
        "Lap": 5, "LapCompleted": 4, "LapDist": 450.0, "LapDistPct": 0.45,
        "LapCurrentLapTime": 30.0, "LapLastLapTime": 61.5, "LapBestLapTime": 60.9,
        "Speed": 50.0, "RPM": 6500.0, "Gear": 4, "Throttle": 0.8, "Brake": 0.0, "Clutch": 1.0,
        "SteeringWheelAngle": -0.5, "SteeringWheelAngleMax": 4.0, "OnPitRoad": False,
        "PlayerTrackSurface": 3, "LatAccel": 9.80665, "LongAccel": -4.903325,
        "Lat": 47.2200, "Lon": 14.7660, "Alt": 680.0, "FuelLevel": 42.0, "WaterTemp": 90.0,
        "OilTemp": 100.0, "AirTemp": 19.0, "TrackTempCrew": 27.5,
        **{f"{w}tempCM": 80.0 for w in ("LF", "RF", "LR", "RR")},
        **{f"{w}tempCL": 70.0 for w in ("LF", "RF", "LR", "RR")},
        **{f"{w}tempCR": 90.0 for w in ("LF", "RF", "LR", "RR")},
        **{f"{w}coldPressure": 170.0 for w in ("LF", "RF", "LR", "RR")},
        **{f"{w}wear{s}": 0.9 for w in ("LF", "RF", "LR", "RR") for s in "LMR"},
    }  # fmt: skip
    return {**base, **over}


def IracingTransportFor(sim: FakeSim) -> Any:  # noqa: N802 - reads like the class it makes
    """The real transport over a FakeSim: what a recording of the sim would capture."""
    from simcoach_agent.sources.iracing import IracingTransport

    return IracingTransport(sim)
