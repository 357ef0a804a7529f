"""Hostile uploads: each case a probe of a production server found, by name, through the API.

Every one must be a 400 that names what is wrong (or an import), cost little, and leave nothing
in the database. Mutants are built from the real recordings (apps/sessions/tests/hostile.py).
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client

from apps.sessions.lib.imports import import_session, limits
from apps.sessions.models import Lap, Session
from apps.sessions.tests import hostile as h
from apps.sessions.tests.api_import import api_import
from apps.sessions.uploads import upload_temp_sweep
from apps.traces.models import TraceChunk

ROOT = Path(__file__).resolve().parents[3]
API = "/api/imports/"
pytestmark = [pytest.mark.usefixtures("imports_run_here"), pytest.mark.fixtures]
db = pytest.mark.usefixtures("isolated_trace_store")


@pytest.fixture
def logged_in(client: Client, driver) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    return client


@pytest.fixture(scope="module")
def imola(fixtures_dir: Path) -> bytes:
    return (fixtures_dir / h.IMOLA_LD).read_bytes()


def _refused(client: Client, data: bytes, name: str, *, ldx: bytes | None = None, match: str) -> str:
    """POST the file; assert a 400 whose message matches and an empty database; the message."""
    upload = io.BytesIO(data)
    upload.name = name
    fields: dict[str, object] = {"file": upload, "kind": "practice", "track": "T", "car": "C", "game": "acc"}
    if ldx is not None:
        sidecar = io.BytesIO(ldx)
        sidecar.name = "x.ldx"
        fields["ldx"] = sidecar
    response = api_import(client, fields)
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert (Session.objects.count(), Lap.objects.count(), TraceChunk.objects.count()) == (0, 0, 0)
    assert re.search(match, error), error
    return error


def _imported_cut(client: Client, data: bytes, *, match: str) -> None:
    """POST the .ld; assert it was imported with a warning matching `match` and a session as
    long as the real recording (245 s), not as long as the patched channel claims."""
    upload = io.BytesIO(data)
    upload.name = "a.ld"
    response = api_import(client, {"file": upload, "kind": "practice", "game": "acc"})
    assert response.status_code == 201, response.content[:300]
    assert any(re.search(match, w) for w in response.json()["warnings"]), response.json()["warnings"]
    session = Session.objects.get()
    assert session.ended_at is not None
    assert (session.ended_at - session.started_at).total_seconds() < 300


@pytest.mark.django_db
@db
class TestProbedLd:
    # The probe patched LAP_BEACON, not a driving channel: the log is cut where SPEED ends (an
    # ACC quirk makes some channels run on), so the claimed 789 110 s are never laid out.
    def test_count_789110_at_rate_1_is_cut_at_the_driving_channels(
        self, logged_in: Client, imola: bytes
    ) -> None:
        _imported_cut(logged_in, h.ld_count_789110(imola), match=r"run 789110\.0 s, past the driving")

    def test_count_200000_at_rate_1_is_cut_at_the_driving_channels(
        self, logged_in: Client, imola: bytes
    ) -> None:
        _imported_cut(logged_in, h.ld_count_200000(imola), match=r"run 200000\.0 s, past the driving")

    def test_a_driving_channel_claiming_more_than_its_data_is_refused(
        self, logged_in: Client, imola: bytes
    ) -> None:
        patched = h.ld_patch(imola, h.ld_channel(imola, "SPEED"), count=789_110, rate=1)
        _refused(logged_in, patched, "a.ld", match=r"SPEED|LD_MAX_EXPANSION|past the end")

    def test_rate_65535_on_the_main_channel_is_refused(self, logged_in: Client, imola: bytes) -> None:
        _refused(logged_in, h.ld_rate_65535(imola), "a.ld", match=r"'SPEED' claims 65535 samples per second")

    def test_dec_minus_400_is_a_400_not_an_overflow(self, logged_in: Client, imola: bytes) -> None:
        _refused(logged_in, h.ld_dec(imola, -400), "a.ld", match=r"decimal exponent of -400.*LD_MAX_DEC")

    def test_a_gzip_bomb_ld_is_stopped_at_the_inflate_cap(self, logged_in: Client, imola: bytes) -> None:
        bomb = h.ld_gz_bomb(imola)  # 5 MB that inflates to 5 GB
        _refused(logged_in, bomb, "a.ld.gz", match=r"inflates to more than \d+ MB \(32× its size")

    def test_a_descriptor_whose_data_runs_past_the_end_is_refused(
        self, logged_in: Client, imola: bytes
    ) -> None:
        patched = h.ld_patch(imola, h.ld_channel(imola, "SPEED"), count=10**9)
        _refused(logged_in, patched, "a.ld", match=r"'SPEED' .*runs past the end of the file")


@pytest.mark.django_db
@db
class TestProbedLdx:
    def test_100000_markers_are_refused_by_count(self, logged_in: Client, imola: bytes) -> None:
        ldx = h.ldx_markers(100_000)
        assert len(ldx) < 4 * 1024 * 1024  # under the sidecar's size cap: only the count stops it
        _refused(logged_in, imola, "a.ld", ldx=ldx, match=r"100,000 markers; at most 10,000.*LDX_MAX_MARKERS")

    def test_markers_closer_than_a_lap_are_merged(self, imola: bytes) -> None:
        # 5 000 markers 20 ms apart over 100 s: one crossing every MIN_LAP_S (5 s) survives
        found = import_session(io.BytesIO(imola), ldx=h.ldx_markers(5_000, 20_000))
        starts = [lap.start_t for lap in found.laps]
        # 20 crossings survive (0.02 s, 5.02 s ... 95.02 s); the first is within MIN_LAP_S of the
        # log's start, so the log starts on the line: 19 laps between them and the one after.
        assert len(found.laps) == 20 and starts[0] == pytest.approx(0.02)
        assert all(b - a >= 5.0 for a, b in zip(starts, starts[1:], strict=False))


@pytest.mark.django_db
@db
class TestProbedCsv:
    def test_a_million_columns_are_refused(self, logged_in: Client) -> None:
        _refused(
            logged_in, h.csv_columns(10**6), "a.csv", match=r"line 1 is longer than 65536 .*CSV_MAX_LINE"
        )

    def test_10000_columns_by_216000_rows_gz_is_refused_at_the_header(self, logged_in: Client) -> None:
        wide = h.csv_gz_wide()  # 4.8 MB, 4.3 GB inflated
        _refused(logged_in, wide, "a.csv.gz", match=r"10000 columns; at most 512 .*CSV_MAX_COLUMNS")

    def test_a_cell_over_128_kb_is_a_400(self, logged_in: Client, fixtures_dir: Path) -> None:
        _refused(logged_in, h.garage61_big_cell(fixtures_dir), "a.csv", match=r"line 11 is longer than")

    def test_an_unclosed_quote_is_a_400(self, logged_in: Client, fixtures_dir: Path) -> None:
        _refused(logged_in, h.garage61_unclosed_quote(fixtures_dir), "a.csv", match=r"unclosed quote")

    def test_too_many_values_are_refused(self, logged_in: Client, monkeypatch: pytest.MonkeyPatch) -> None:
        # the cap lowered so that the test need not build 128 MB: 500 columns × 21 rows > 10 000
        monkeypatch.setattr(limits, "CSV_MAX_CELLS", 10_000)
        data = h.csv_columns(500, rows=21)
        _refused(logged_in, data, "a.csv", match=r"more than 10,000 values \(21 rows × 500 columns\)")

    def test_crewchief_duplicate_lap_numbers_are_a_400(self, logged_in: Client, fixtures_dir: Path) -> None:
        data = h.crewchief_duplicate_laps(fixtures_dir)
        _refused(logged_in, data, "a.csv.gz", match=r"lap 1 appears twice")

    def test_a_lap_counter_that_changes_every_row_is_refused(
        self, logged_in: Client, fixtures_dir: Path
    ) -> None:
        rows = h.crewchief_rows(fixtures_dir, "crewchief/session_1673613558_df.csv.gz")
        header = next(i for i, r in enumerate(rows) if "CurrentLap" in r)
        col = rows[header].index("CurrentLap")
        for i, row in enumerate(rows[header + 1 :]):
            if len(row) > col:
                row[col] = str(i)
        _refused(logged_in, h.to_csv(rows), "a.csv", match=r"laps; at most 2000 .*MAX_LAPS")


@pytest.mark.django_db
@db
class TestTimeLimit:
    @pytest.mark.parametrize("path", [h.CC_LAP, h.IMOLA_LD, h.G61_GZ])
    def test_a_file_that_reads_past_the_time_limit_is_a_400(
        self, path: str, logged_in: Client, fixtures_dir: Path, settings
    ) -> None:  # type: ignore[no-untyped-def]
        settings.IMPORT_TIME_LIMIT_S = 0.0  # every file is slower than that
        data = (fixtures_dir / path).read_bytes()
        _refused(logged_in, data, Path(path).name, match=r"took longer than 0 s \(IMPORT_TIME_LIMIT_S\)")

    def test_the_default_limit_lets_a_real_session_through(
        self, logged_in: Client, fixtures_dir: Path
    ) -> None:
        with (fixtures_dir / "crewchief/session_1681021274_df.csv.gz").open("rb") as f:
            assert api_import(logged_in, {"file": f}).status_code == 201


# ---- temp files


def _django_process(code: str, temp_dir: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'agent'}",
        "DJANGO_SETTINGS_MODULE": "simcoach_site.settings",
        "FILE_UPLOAD_TEMP_DIR": str(temp_dir),
    }
    script = "import django; django.setup()\n" + code
    return subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )


RECEIVE_AND_HANG = """
import sys, time
from django.core.files.uploadhandler import {handler}
handler = {handler}()
handler.new_file("file", "lap.ld", "application/octet-stream", 10**7)
handler.receive_data_chunk(b"x" * 2**20, 0)
print("receiving", flush=True)
time.sleep(60)
"""


def _kill_mid_upload(handler_module: str, handler: str, temp_dir: Path) -> None:
    code = RECEIVE_AND_HANG.replace("django.core.files.uploadhandler", handler_module).format(handler=handler)
    proc = _django_process(code, temp_dir)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "receiving"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_leftover_temp_files_a_killed_upload_leaves_none(tmp_path: Path) -> None:
    # Django's own handler, killed mid-upload, leaves its named file behind ...
    _kill_mid_upload("django.core.files.uploadhandler", "TemporaryFileUploadHandler", tmp_path)
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and ".upload." in left[0]
    (tmp_path / left[0]).unlink()
    # ... ours writes into a file with no name, which dies with the process
    _kill_mid_upload("apps.sessions.uploads", "AnonymousTemporaryFileUploadHandler", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_leftover_temp_files_are_swept_at_the_next_start(tmp_path: Path) -> None:
    stale, fresh, other = (
        tmp_path / "tmpa1b2.upload.ld",
        tmp_path / "tmpc3d4.upload.csv",
        tmp_path / "tmpe5.txt",
    )
    for p in (stale, fresh, other):
        p.write_bytes(b"x")
    hour_ago = time.time() - 3700
    os.utime(stale, (hour_ago, hour_ago))
    os.utime(other, (hour_ago, hour_ago))
    proc = _django_process("print('started')", tmp_path)  # a new process: the app's ready() sweeps
    assert proc.communicate(timeout=60)[0].strip().endswith("started")
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, other.name]


def test_the_sweep_keeps_files_a_live_upload_may_be_writing(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    live = tmp_path / "tmpzz.upload"
    live.write_bytes(b"x")
    assert upload_temp_sweep() == 0 and live.exists()
    assert upload_temp_sweep(now=time.time() + 3601) == 1 and not live.exists()
