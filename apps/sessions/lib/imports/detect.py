"""Which lap file format some bytes are, judged by content alone (file names lie).

- MoTeC .ld: u32 0x40 at offset 0 and a printable device type ("ADL", "M800" ...) at 0x4A;
- MoTeC .ldx: XML whose root is `<LDXFile`;
- iRacing .ibt: an `irsdk_header` (version 2, a telemetry tickRate, 1-4 buffers) whose variable
  table starts after the 32-byte disk sub-header;
- Garage 61 CSV: a header row with Speed and LapDistPct;
- Crew Chief CSV (InfluxDB export): Flux annotations (`#group`, `#datatype`) or a header
  with `_time` and Crew Chief fields such as CurrentLapTime or DistanceRoundTrack.
Gzip (magic 1f 8b) is opened transparently: the head is inflated as far as it goes.
"""

from __future__ import annotations

import re
import struct
import zlib

from .result import ImportFormatError

MOTEC_LD = "motec_ld"
MOTEC_LDX = "motec_ldx"
GARAGE61_CSV = "garage61_csv"
CREWCHIEF_CSV = "crewchief_csv"
IRACING_IBT = "iracing_ibt"
GZIP_MAGIC = b"\x1f\x8b"
UNKNOWN = "not a MoTeC .ld, .ldx, Garage 61 CSV or Crew Chief CSV file, nor an iRacing .ibt"
HEAD_INFLATED_MAX = 64 * 1024  # bytes of a gzip file's start inflated to detect its format
_DEVICE = re.compile(rb"[A-Za-z0-9][A-Za-z0-9 _-]{1,7}")
_CREWCHIEF_FIELDS = ("CurrentLapTime", "DistanceRoundTrack", "LapTimePrevious", "SpeedMs")


def gunzip_head(head: bytes) -> bytes:
    """The start of a gzip stream, inflated as far as the given bytes allow."""
    try:
        # max_length: a few KiB of a bomb would otherwise inflate a thousandfold here
        return zlib.decompressobj(wbits=31).decompress(head, HEAD_INFLATED_MAX)
    except zlib.error as exc:
        raise ImportFormatError(f"gzip: the compressed data is damaged ({exc})") from None


def detect_format(head: bytes) -> str:
    """Name of the format of a file that starts with `head` (a few KiB are enough).

    Raises ImportFormatError when the bytes are none of the formats we read.
    """
    if head.startswith(GZIP_MAGIC):
        head = gunzip_head(head)
    if not head:
        raise ImportFormatError("the file is empty")
    if _is_ld(head):
        return MOTEC_LD
    if _is_ibt(head):
        return IRACING_IBT
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if re.match(r"(<\?xml[^>]*\?>\s*)?<LDXFile\b", text):
        return MOTEC_LDX
    header = _first_data_line(text)
    if "_time" in header and any(f in header for f in _CREWCHIEF_FIELDS) or text.startswith("#datatype"):
        return CREWCHIEF_CSV
    if {"Speed", "LapDistPct"} <= set(header):
        return GARAGE61_CSV
    raise ImportFormatError(UNKNOWN)


def _is_ld(head: bytes) -> bool:
    if len(head) < 0x52 or struct.unpack_from("<I", head, 0)[0] != 0x40:
        return False
    return _DEVICE.fullmatch(head[0x4A:0x52].rstrip(b"\0")) is not None


def _is_ibt(head: bytes) -> bool:
    if len(head) < 144:
        return False
    ver, _status, tick_rate = struct.unpack_from("<3i", head, 0)
    var_offset, num_buf = struct.unpack_from("<2i", head, 28)
    # counts and sizes are left to the reader, which names what is wrong with them
    return (
        ver == 2
        and 1 <= tick_rate <= 10_000
        and var_offset >= 144  # after the 112-byte header and the 32-byte disk sub-header
        and 1 <= num_buf <= 4
    )


def _first_data_line(text: str) -> list[str]:
    """Cells of the first line that is not a Flux `#annotation` or blank."""
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            return [cell.strip().strip('"') for cell in line.split(",")]
    return []
