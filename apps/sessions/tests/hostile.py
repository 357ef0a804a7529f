"""Hostile lap files built from the real recordings: the cases a probe of production found,
and the small seeds the fuzz test mutates. Shared by the named tests, tests/faults and bench/.
"""

from __future__ import annotations

import csv
import gzip
import io
import struct
import zlib
from pathlib import Path

IMOLA_LD = "acc/Imola-porsche_991ii_gt3_r-2-2021.12.02-21.13.58.ld"
KYALAMI_LDX = "acc/Kyalami-porsche_991ii_gt3_r-3-2021.12.15-21.43.22.ldx"
G61_GZ = "garage61/sample_lap.csv.gz"
CC_LAP = "crewchief/lap_40781_df.csv.gz"

# descriptor field offsets (apps/sessions/lib/imports/motec.py DESCRIPTOR_FMT)
D_NEXT, D_DATA, D_COUNT, D_RATE, D_DEC = 4, 8, 12, 22, 30
D_FIELDS = {
    "data": (8, "<I"),
    "count": (12, "<I"),
    "rate": (22, "<H"),
    "scale": (28, "<h"),
    "dec": (30, "<h"),
}


def descriptors(ld: bytes) -> list[int]:
    """Offsets of the channel descriptors of an .ld, in list order."""
    found, ptr = [], struct.unpack_from("<I", ld, 0x08)[0]
    while ptr and ptr not in found and ptr + 124 <= len(ld):
        found.append(ptr)
        ptr = struct.unpack_from("<I", ld, ptr + D_NEXT)[0]
    return found


def channel_name(ld: bytes, ptr: int) -> str:
    return ld[ptr + 32 : ptr + 64].split(b"\0", 1)[0].decode("latin-1")


def ld_patch(ld: bytes, ptr: int, **fields: int) -> bytes:
    """The .ld with some fields of the descriptor at `ptr` overwritten (count=, rate=, dec= ...)."""
    out = bytearray(ld)
    for name, value in fields.items():
        offset, fmt = D_FIELDS[name]
        struct.pack_into(fmt, out, ptr + offset, value)
    return bytes(out)


def ld_channel(ld: bytes, name: str) -> int:
    return next(p for p in descriptors(ld) if channel_name(ld, p) == name)


def ld_first_data_channel(ld: bytes) -> int:
    """The descriptor whose samples come first in the file: the one a patched count can stretch most."""
    return min(descriptors(ld), key=lambda p: struct.unpack_from("<I", ld, p + D_DATA)[0])


def ld_count_789110(ld: bytes) -> bytes:
    """The probe's case: one channel claims 789 110 samples at 1 Hz (9 days), all inside the file."""
    return ld_patch(ld, ld_first_data_channel(ld), count=789_110, rate=1)


def ld_count_200000(ld: bytes) -> bytes:
    return ld_patch(ld, ld_first_data_channel(ld), count=200_000, rate=1)


def ld_rate_65535(ld: bytes) -> bytes:
    """SPEED, whose rate sets the timeline, at 65 535 Hz."""
    return ld_patch(ld, ld_channel(ld, "SPEED"), rate=65_535)


def ld_dec(ld: bytes, dec: int = -400) -> bytes:
    return ld_patch(ld, ld_channel(ld, "SPEED"), dec=dec)


def ld_small(ld: bytes, seconds: float = 12.0) -> bytes:
    """A short, valid copy of an .ld: every channel cut to its first `seconds`, data packed anew.

    The fuzz test mutates this (a few tens of KB) instead of 3 MB: each mutant parses in a ms.
    """
    ptrs = descriptors(ld)
    data_at = struct.unpack_from("<I", ld, 0x0C)[0]
    out = bytearray(ld[:data_at])
    for ptr in ptrs:
        rate, width = struct.unpack_from("<H", ld, ptr + D_RATE)[0], struct.unpack_from("<H", ld, ptr + 20)[0]
        data, count = struct.unpack_from("<II", ld, ptr + D_DATA)
        keep = min(count, int(rate * seconds))
        struct.pack_into("<II", out, ptr + D_DATA, len(out), keep)
        out += ld[data : data + keep * width]
    return bytes(out)


def ldx_markers(n: int, spacing_us: int = 1) -> bytes:
    """An .ldx of `n` BCN markers `spacing_us` apart: the probe's 100 000 markers (2 MB, under the cap)."""
    body = "".join(f'<Marker Time="{i * spacing_us}"/>' for i in range(1, n + 1))
    return (
        '<?xml version="1.0"?><LDXFile><Layers><Layer><MarkerBlock><MarkerGroup Name="Beacons">'
        f"{body}</MarkerGroup></MarkerBlock></Layer></Layers></LDXFile>"
    ).encode()


def csv_columns(n: int, rows: int = 3) -> bytes:
    """A Garage 61 style CSV with `n` columns (Speed, LapDistPct, then fillers)."""
    header = "Speed,LapDistPct," + ",".join(f"c{i}" for i in range(n - 2))
    row = "50,0.5," + ",".join("0" for _ in range(n - 2))
    return (header + "\n" + "\n".join(row for _ in range(rows)) + "\n").encode()


def gzip_repeated(head: bytes, block: bytes, times: int) -> bytes:
    """gzip members: `head` once, then `block` `times` times, compressed once and repeated.

    Back-to-back members are one valid gzip file, so a file that inflates to gigabytes is
    built in milliseconds.
    """
    member = gzip.compress(block, compresslevel=9, mtime=0)
    return gzip.compress(head, mtime=0) + member * times


def csv_gz_wide(columns: int = 10_000, rows: int = 216_000) -> bytes:
    """The probe's 10 000 columns × 216 000 rows Garage 61 CSV, gzip'd (inflates to 4.3 GB)."""
    header = ("Speed,LapDistPct," + ",".join(f"c{i}" for i in range(columns - 2)) + "\n").encode()
    row = ("50,0.5" + ",0" * (columns - 2) + "\n").encode()
    per_block = 1000
    return gzip_repeated(header, row * per_block, rows // per_block)


def ld_gz_bomb(ld: bytes, inflated: int = 5 * 1024**3) -> bytes:
    """An .ld.gz whose first bytes are a real .ld header and that inflates to `inflated` bytes."""
    block = 64 * 1024 * 1024
    return gzip_repeated(ld[:65536], b"\0" * block, inflated // block)


def garage61_rows(fixtures: Path) -> list[list[str]]:
    with gzip.open(fixtures / G61_GZ, "rt", newline="") as f:
        return list(csv.reader(f))


def to_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def garage61_small(fixtures: Path, every: int = 15) -> bytes:
    """The real lap thinned to every `every`th row: still one lap, a tenth of the size."""
    rows = garage61_rows(fixtures)
    return to_csv([rows[0], *rows[1::every], rows[-1]])


def garage61_big_cell(fixtures: Path, size: int = 128 * 1024 + 1) -> bytes:
    rows = garage61_rows(fixtures)[:50]
    rows[10][3] = "9" * size
    return to_csv(rows)


def garage61_unclosed_quote(fixtures: Path) -> bytes:
    """A quote opened in row 3 and never closed: the rest of the file (700 KB) is one cell."""
    text = gzip.decompress((fixtures / G61_GZ).read_bytes())
    lines = text.split(b"\n")
    lines[3] = b'"' + lines[3]
    return b"\n".join(lines)


def crewchief_rows(fixtures: Path, name: str = CC_LAP) -> list[list[str]]:
    with gzip.open(fixtures / name, "rt", newline="") as f:
        return list(csv.reader(f))


def crewchief_duplicate_laps(fixtures: Path) -> bytes:
    """The one-lap Crew Chief file with CurrentLap 1, 2, then 1 again (a restarted session)."""
    rows = crewchief_rows(fixtures)
    header_at = next(i for i, r in enumerate(rows) if "_time" in r and "CurrentLap" in r)
    col = rows[header_at].index("CurrentLap")
    data = [i for i, r in enumerate(rows) if i > header_at and len(r) == len(rows[header_at])]
    third = len(data) // 3
    for k, i in enumerate(data):
        rows[i][col] = "2" if third <= k < 2 * third else "1"
    return gzip.compress(to_csv(rows), mtime=0)


def crewchief_small(fixtures: Path, every: int = 4) -> bytes:
    rows = crewchief_rows(fixtures)
    return gzip.compress(to_csv(rows[:4] + rows[4::every]), mtime=0)


def zlib_ok(data: bytes) -> bool:
    try:
        zlib.decompress(data, wbits=31)
    except zlib.error:
        return False
    return True
