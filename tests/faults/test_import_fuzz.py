"""Fuzzed lap files: 1 000+ mutants of every fixture format through the import service.

Seeds are small, valid cuts of the real recordings (apps/sessions/tests/hostile.py): a 12 s
ACC .ld, the Kyalami .ldx beside it, the Garage 61 lap thinned (plain and gzip'd) and the
one-lap Crew Chief export. Mutants: bit flips, byte runs, truncations, cut/duplicated spans,
patched descriptor sizes/counts/rates/exponents and header pointers (.ld), patched marker
times and floods (.ldx), junk cells, dropped/duplicated columns and unclosed quotes (CSV),
damaged compressed bytes and bombs (gzip). Each must be imported or refused with
ImportRejected (the API's 400, see test_import_api.py); anything else, a 500, fails. After a
refusal the database holds exactly what it held before: nothing partial.

Deterministic (fixed seeds): a failure names its format and mutant number to replay.
"""

from __future__ import annotations

import gzip
import random
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from apps.sessions.lib.imports import limits
from apps.sessions.models import Lap, Session
from apps.sessions.services_import import ImportRejected, session_import
from apps.sessions.tests import hostile as h
from apps.traces.models import TraceChunk

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.faults,
    pytest.mark.fixtures,
    pytest.mark.usefixtures("isolated_trace_store"),
]
MUTANTS = 1000
Mutator = Callable[[random.Random, bytes], bytes]
BOUNDARY_U32 = (0, 1, 2, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
BOUNDARY_U16 = (0, 1, 2, 59, 60, 0x7FFF, 0x8000, 0xFFFF)
JUNK_CELLS = ("", "nan", "inf", "-inf", "1e308", "-1e308", "9" * 400, '"', '""', "x,y", "\x00", "true", "-0")


# ---- generic byte mutations


def bit_flips(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def byte_run(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    i = rng.randrange(len(out))
    n = rng.randint(1, 64)
    out[i : i + n] = bytes([rng.choice((0, 0xFF, rng.randrange(256)))]) * len(out[i : i + n])
    return bytes(out)


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))]


def cut_span(rng: random.Random, data: bytes) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.randint(1, 512) :]


def duplicate_span(rng: random.Random, data: bytes) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + data[i : i + rng.randint(1, 512)] * rng.randint(2, 20) + data[i:]


def insert_random(rng: random.Random, data: bytes) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + rng.randbytes(rng.randint(1, 64)) + data[i:]


GENERIC: list[Mutator] = [bit_flips, byte_run, truncate, cut_span, duplicate_span, insert_random]


# ---- .ld: the numbers a descriptor and the header claim


def ld_descriptor_field(rng: random.Random, data: bytes) -> bytes:
    ptrs = h.descriptors(data)
    if not ptrs:
        return bit_flips(rng, data)
    ptr = rng.choice(ptrs)
    offset, fmt = rng.choice([(0, "<I"), (4, "<I"), (8, "<I"), (12, "<I"), (18, "<H"), (20, "<H"),
                              (22, "<H"), (24, "<h"), (26, "<h"), (28, "<h"), (30, "<h")])  # fmt: skip
    if fmt == "<I":
        value = rng.choice([*BOUNDARY_U32, rng.randrange(len(data) * 2)])
    elif fmt == "<H":
        value = rng.choice([*BOUNDARY_U16, rng.randrange(0x10000)])
    else:
        value = rng.choice([-32768, -400, -31, -1, 0, 1, 31, 400, 32767, rng.randrange(-32768, 32768)])
    out = bytearray(data)
    struct.pack_into(fmt, out, ptr + offset, value)
    return bytes(out)


def ld_header_field(rng: random.Random, data: bytes) -> bytes:
    offset = rng.choice([0x00, 0x08, 0x0C, 0x24, 0x56, 0x46])
    out = bytearray(data)
    struct.pack_into("<I", out, offset, rng.choice([*BOUNDARY_U32, rng.randrange(len(data) * 2)]))
    return bytes(out)


def ld_rate_and_count(rng: random.Random, data: bytes) -> bytes:
    """The probe's shape: one channel's count and rate patched together."""
    ptrs = h.descriptors(data)
    ptr = rng.choice(ptrs)
    return h.ld_patch(data, ptr, count=rng.choice([1, 1000, 789_110, 200_000, 0x7FFFFFFF]),
                      rate=rng.choice([1, 2, 65535, 10_000, 10_001]))  # fmt: skip


# ---- .ldx


def ldx_marker_times(rng: random.Random, data: bytes) -> bytes:
    text = data.decode("latin-1")
    value = rng.choice(["nan", "inf", "-1", "", "1e400", "x", "9" * 5000, str(rng.randrange(10**8))])
    head, sep, rest = text.partition('Time="')
    return (head + sep + value + rest[rest.find('"') :]).encode("latin-1") if sep else bit_flips(rng, data)


def ldx_flood(rng: random.Random, data: bytes) -> bytes:
    return h.ldx_markers(rng.choice([0, 1, 50, 9_999, 10_001]), rng.choice([1, 1_000_000, 6_000_000]))


def ldx_details(rng: random.Random, data: bytes) -> bytes:
    text = data.decode("latin-1")
    value = rng.choice(["9" * 5000, "-1", "1:" + "9" * 400, "nan", "", "0:53.619"])
    return (
        text.replace('Value="5"', f'Value="{value}"')
        .replace('Value="0:53.619"', f'Value="{value}"')
        .encode("latin-1")
    )


# ---- CSV text


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def csv_junk_cell(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    cells = lines[i].split(b",")
    cells[rng.randrange(len(cells))] = rng.choice(JUNK_CELLS).encode()
    lines[i] = b",".join(cells)
    return b"\n".join(lines)


def csv_header_columns(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i = next((k for k, line in enumerate(lines) if b"Speed" in line), 0)
    cells = lines[i].split(b",")
    j = rng.randrange(len(cells))
    action = rng.randrange(3)
    if action == 0:
        del cells[j]
    elif action == 1:
        cells.insert(j, cells[j])
    else:
        cells += [b"c%d" % k for k in range(rng.choice([1, 500, 600]))]
    lines[i] = b",".join(cells)
    return b"\n".join(lines)


def csv_quote(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    lines[i] = b'"' + lines[i]
    return b"\n".join(lines)


def csv_drop_lines(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    return b"\n".join(lines[:i] + lines[i + rng.randint(1, 50) :])


def csv_line_ends(rng: random.Random, data: bytes) -> bytes:
    return data.replace(b"\n", rng.choice([b"\r\n", b"\r", b"", b"\n\n"]), rng.randint(1, 1000))


CSV_TEXT: list[Mutator] = [csv_junk_cell, csv_header_columns, csv_quote, csv_drop_lines, csv_line_ends]


# ---- gzip


def gz(mutators: list[Mutator]) -> list[Mutator]:
    """Mutate the plain text and compress again: mutants that get past gzip to the parser."""

    def wrap(m: Mutator) -> Mutator:
        def mutate(rng: random.Random, data: bytes) -> bytes:
            return gzip.compress(m(rng, gzip.decompress(data)), mtime=0)

        mutate.__name__ = f"gz_{m.__name__}"
        return mutate

    return [wrap(m) for m in mutators]


def gz_bomb(rng: random.Random, data: bytes) -> bytes:
    plain = gzip.decompress(data)
    head = plain[: plain.find(b"\n", 2000) + 1]
    row = plain[len(head) : plain.find(b"\n", len(head) + 1) + 1]
    return h.gzip_repeated(head, row * rng.choice([1000, 20_000]), rng.choice([2, 500, 5000]))


def gz_members(rng: random.Random, data: bytes) -> bytes:
    return data + rng.choice([data, b"\x1f\x8b", b"junk", gzip.compress(b"")])


# ---- the run


def _seeds(fixtures: Path) -> dict[str, tuple[bytes, bytes | None, list[Mutator]]]:
    ld = h.ld_small((fixtures / h.IMOLA_LD).read_bytes())
    ldx = (fixtures / h.KYALAMI_LDX).read_bytes()
    g61 = h.garage61_small(fixtures)
    ld_mutators = [*GENERIC, ld_descriptor_field, ld_descriptor_field, ld_header_field, ld_rate_and_count]
    return {
        "ld": (ld, None, ld_mutators),
        "ldx": (ldx, ld, [*GENERIC, ldx_marker_times, ldx_flood, ldx_details]),
        "garage61_csv": (g61, None, [*GENERIC, *CSV_TEXT]),
        "garage61_csv_gz": (
            gzip.compress(g61, mtime=0),
            None,
            [*GENERIC, *gz(CSV_TEXT), gz_bomb, gz_members],
        ),
        "crewchief_csv_gz": (
            h.crewchief_small(fixtures),
            None,
            [*GENERIC, *gz(CSV_TEXT), gz_bomb, gz_members],
        ),
    }


def _counts() -> tuple[int, int, int]:
    return Session.objects.count(), Lap.objects.count(), TraceChunk.objects.count()


def _import(driver, data: bytes, ldx: bytes | None, name: str) -> str:  # type: ignore[no-untyped-def]
    import io

    try:
        session_import(
            owner=driver, fileobj=io.BytesIO(data), filename=name, ldx=ldx,
            game="acc", track="Fuzz", car="Fuzz", kind="practice",
        )  # fmt: skip
    except ImportRejected:
        return "refused"
    return "imported"


@pytest.mark.parametrize("fmt", ["ld", "ldx", "garage61_csv", "garage61_csv_gz", "crewchief_csv_gz"])
def test_every_mutant_is_imported_or_refused_whole(fmt: str, driver, fixtures_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Caps scaled down to the seeds (tens of KB), so that a bomb or flood reaches them in
    # milliseconds; test_import_hostile.py runs the real caps against the full-size cases.
    monkeypatch.setattr(limits, "GZIP_MAX_BYTES", 1024 * 1024)
    monkeypatch.setattr(limits, "CSV_MAX_CELLS", 200_000)
    seed, other, mutators = _seeds(fixtures_dir)[fmt]
    rng = random.Random(f"import-fuzz-{fmt}")
    seen: dict[str, int] = {"imported": 0, "refused": 0}
    for number in range(MUTANTS):
        mutator = mutators[number % len(mutators)]
        # the .ldx format mutates the sidecar and keeps the .ld; the others mutate the file
        if fmt == "ldx" and other is not None:
            data, ldx = other, mutator(rng, seed)
        else:
            data, ldx = mutator(rng, seed), None
        before = _counts()
        try:
            outcome = _import(driver, data, ldx, f"mutant-{fmt}-{number}")
        except Exception as exc:  # a 500: name the mutant so it can be replayed
            raise AssertionError(f"{fmt} mutant {number} ({mutator.__name__}) raised {exc!r}") from exc
        seen[outcome] += 1
        if outcome == "refused":
            assert _counts() == before, f"{fmt} mutant {number} ({mutator.__name__}) left rows behind"
    print(f"{fmt}: {seen}")
    # a fuzz that refuses everything (or nothing) tests only one path
    assert seen["imported"] > 0 and seen["refused"] > 0, seen
