"""Imports off the request path: chunked resumable uploads, the import task and its runners.

The task runs here three ways: captured on-commit callbacks (JOBS_INLINE), the in-process
background runner of simcoach_site/jobs.py, and a real Celery worker on the real Redis broker.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from pathlib import Path

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.test import Client
from django.utils import timezone

from apps.sessions import services_import_jobs as service
from apps.sessions.models import Import, Lap, Session
from apps.sessions.services_import_jobs import import_file_path, import_run, imports_sweep
from apps.sessions.tests.api_import import API, run_queued
from apps.sessions.tests.import_cases import CASES, IMOLA
from apps.traces.models import TraceChunk
from simcoach_site import jobs

pytestmark = [
    pytest.mark.usefixtures("imports_run_here"),
    pytest.mark.fixtures,
    pytest.mark.usefixtures("isolated_trace_store"),
]
CHUNK = 1024 * 1024


@pytest.fixture
def logged_in(client: Client, driver) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    return client


@pytest.fixture
def imola(fixtures_dir: Path) -> bytes:
    return (fixtures_dir / IMOLA).read_bytes()


@pytest.fixture
def small_chunks(settings) -> None:  # type: ignore[no-untyped-def]
    settings.IMPORT_CHUNK_BYTES = CHUNK  # the 3.2 MB Imola .ld becomes four chunks


def _announce(client: Client, size: int, name: str = "imola.ld", **meta: str) -> dict:  # type: ignore[type-arg]
    response = client.post(API, {"filename": name, "size": size, "kind": "race", **meta})
    assert response.status_code == 202, response.content
    return response.json()  # type: ignore[no-any-return]


def _put(client: Client, url: str, offset: int, data: bytes):  # type: ignore[no-untyped-def]
    return client.put(f"{url}?offset={offset}", data, "application/octet-stream")


def _named(data: bytes, name: str) -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def _nothing_stored() -> bool:
    return (Session.objects.count(), Lap.objects.count(), TraceChunk.objects.count()) == (0, 0, 0)


@pytest.mark.django_db
@pytest.mark.usefixtures("small_chunks")
class TestChunks:
    def test_chunks_add_up_to_the_file_which_a_worker_imports(
        self, logged_in: Client, imola: bytes, import_upload_dir: Path
    ) -> None:
        status = _announce(logged_in, len(imola))
        assert (status["state"], status["received"], status["chunk_bytes"]) == ("uploading", 0, CHUNK)
        url = status["chunk_url"]
        for offset in range(0, len(imola) - CHUNK, CHUNK):  # all but the last
            body = _put(logged_in, url, offset, imola[offset : offset + CHUNK]).json()
            assert (body["state"], body["received"]) == ("uploading", offset + CHUNK)
        last = len(imola) - len(imola) % CHUNK
        assert import_file_path(status["id"]).read_bytes() == imola[:last]
        done = run_queued(lambda: _put(logged_in, url, last, imola[last:]))
        assert done.status_code == 200 and done.json()["state"] == "queued"
        result = logged_in.get(status["status_url"]).json()
        assert (result["state"], result["progress"], result["phase"], result["laps"]) == (
            "done",
            1.0,
            "done",
            1,
        )
        session = Session.objects.get(pk=result["session_id"])
        assert result["url"] == f"/sessions/{session.pk}/" and session.kind == "race"
        assert list(import_upload_dir.iterdir()) == []  # the upload went with the run

    def test_a_chunk_sent_twice_is_taken_once(self, logged_in: Client, imola: bytes) -> None:
        url = _announce(logged_in, len(imola))["chunk_url"]
        first = _put(logged_in, url, 0, imola[:CHUNK])
        again = _put(logged_in, url, 0, imola[:CHUNK])  # its answer was lost: the client resends
        assert (first.status_code, again.status_code) == (200, 200)
        assert first.json()["received"] == again.json()["received"] == CHUNK
        assert _put(logged_in, url, CHUNK, imola[CHUNK : 2 * CHUNK]).json()["received"] == 2 * CHUNK

    def test_a_gap_is_a_409_that_says_where_to_go_on(self, logged_in: Client, imola: bytes) -> None:
        status = _announce(logged_in, len(imola))
        _put(logged_in, status["chunk_url"], 0, imola[:CHUNK])
        gap = _put(logged_in, status["chunk_url"], 2 * CHUNK, imola[2 * CHUNK : 3 * CHUNK])
        assert gap.status_code == 409
        assert gap.json()["error"] == (
            f"imola.ld: a chunk at offset {2 * CHUNK} does not follow the {CHUNK} bytes received; "
            f"send from offset {CHUNK}"
        )
        assert gap.json()["received"] == CHUNK and Import.objects.get().received == CHUNK

    def test_another_users_import_is_a_404(
        self, logged_in: Client, imola: bytes, stranger, client: Client
    ) -> None:
        status = _announce(logged_in, len(imola))
        other = Client()
        other.force_login(stranger)
        assert _put(other, status["chunk_url"], 0, imola[:CHUNK]).status_code == 404
        assert other.get(status["status_url"]).status_code == 404
        assert Client().get(status["status_url"]).status_code in (401, 403)
        assert Import.objects.get().received == 0

    @pytest.mark.parametrize(
        ("offset", "data", "code", "error"),
        [
            (0, b"x" * (CHUNK + 1), 413, r"a chunk is at most 1 MB \(IMPORT_CHUNK_BYTES\)"),
            (0, b"", 400, "an empty chunk"),
            ("-1", b"x", 400, "offset must be a byte offset"),
        ],
    )
    def test_a_bad_chunk_is_a_clear_4xx(
        self, logged_in: Client, offset: object, data: bytes, code: int, error: str
    ) -> None:
        url = _announce(logged_in, 3 * CHUNK)["chunk_url"]
        response = _put(logged_in, url, offset, data)  # type: ignore[arg-type]
        assert response.status_code == code and __import__("re").search(error, response.json()["error"])

    def test_data_past_the_announced_size_is_refused(self, logged_in: Client) -> None:
        url = _announce(logged_in, 10)["chunk_url"]
        response = _put(logged_in, url, 0, b"x" * 11)
        assert response.status_code == 400
        assert response.json()["error"] == "imola.ld: the data runs past the announced size of 10 bytes"
        assert Import.objects.get().received == 0

    def test_a_chunk_after_the_upload_is_complete_is_a_409(self, logged_in: Client) -> None:
        url = _announce(logged_in, 4)["chunk_url"]
        run_queued(lambda: _put(logged_in, url, 0, b"junk"))
        response = _put(logged_in, url, 4, b"more")
        assert response.status_code == 409 and "the upload is complete" in response.json()["error"]

    @pytest.mark.parametrize(
        ("fields", "code", "error"),
        [
            ({"filename": "a.ld", "size": "0"}, 400, "a.ld: the file is empty"),
            ({"filename": "a.ld", "size": "lots"}, 400, "size must be a whole number of bytes"),
            (
                {"filename": "a.ld", "size": str(300 * 2**20)},
                413,
                "a.ld: the file is 300 MB; the limit is 200 MB",
            ),
            ({"size": "10"}, 400, "no file: send the lap file as the multipart field 'file'"),
        ],
    )
    def test_a_bad_announcement_is_a_clear_4xx(
        self, logged_in: Client, fields: dict[str, str], code: int, error: str
    ) -> None:
        response = logged_in.post(API, fields)
        assert response.status_code == code and response.json()["error"].startswith(error)
        assert Import.objects.count() == 0

    def test_a_whole_file_over_one_chunk_is_refused_and_leaves_nothing(
        self, logged_in: Client, imola: bytes, import_upload_dir: Path
    ) -> None:
        response = logged_in.post(API, {"file": _named(imola, "imola.ld")})  # 3.2 MB > the 1 MB chunk
        assert response.status_code == 413
        assert (
            response.json()["error"]
            == "imola.ld: a chunk is at most 1 MB (IMPORT_CHUNK_BYTES); send the file in chunks"
        )
        assert Import.objects.count() == 0 and list(import_upload_dir.iterdir()) == []

    def test_a_request_over_the_request_cap_is_refused_before_its_body_is_read(
        self, logged_in: Client, settings
    ) -> None:
        settings.IMPORT_REQUEST_MAX_BYTES = 1000
        upload = io.BytesIO(b"x" * 5000)
        upload.name = "big.csv"
        response = logged_in.post(API, {"file": upload})
        assert response.status_code == 413 and "send larger files in chunks" in response.json()["error"]
        assert Import.objects.count() == 0


@pytest.mark.django_db
class TestTheTask:
    def test_a_failed_import_leaves_no_file_and_nothing_but_its_error(
        self, logged_in: Client, imola: bytes, import_upload_dir: Path
    ) -> None:
        upload = io.BytesIO(imola[: len(imola) // 3])
        upload.name = "cut.ld"
        status = run_queued(lambda: logged_in.post(API, {"file": upload, "kind": "race"})).json()
        result = logged_in.get(status["status_url"]).json()
        assert result["state"] == "failed" and result["error"].startswith("cut.ld: MoTeC .ld")
        assert result["retryable"] is False and "session_id" not in result
        assert _nothing_stored() and list(import_upload_dir.iterdir()) == []

    def test_a_second_run_is_a_no_op(self, logged_in: Client, imola: bytes, monkeypatch) -> None:
        monkeypatch.setattr(service, "enqueue", lambda *a: None)  # nobody runs it yet
        status = logged_in.post(API, {"file": _named(imola, "imola.ld"), "kind": "race"}).json()
        assert import_run(import_id=status["id"]) is True
        assert import_run(import_id=status["id"]) is False  # claimed and done: nothing to do
        assert Session.objects.count() == 1 and Import.objects.get().state == "done"

    def test_progress_is_written_as_the_readers_go(
        self, logged_in: Client, imola: bytes, monkeypatch
    ) -> None:
        monkeypatch.setattr(service, "enqueue", lambda *a: None)
        monkeypatch.setattr(service, "PROGRESS_EVERY_S", 0.0)
        seen: list[tuple[float, str]] = []
        real = service._progress_writer

        def recording(import_id: int):  # type: ignore[no-untyped-def]
            write = real(import_id)

            def both(fraction: float, phase: str) -> None:
                write(fraction, phase)
                row = Import.objects.get(pk=import_id)  # what a status request would see now
                seen.append((row.progress, row.phase))

            return both

        monkeypatch.setattr(service, "_progress_writer", recording)
        status = logged_in.post(API, {"file": _named(imola, "imola.ld"), "kind": "race"}).json()
        import_run(import_id=status["id"])
        phases = [phase for _, phase in seen]
        assert phases[0] == "checking the file" and phases[-1] == "storing 1 laps and the trace"
        reading = [p for p, phase in seen if phase == "reading the file"]
        assert len(reading) > 3 and reading == sorted(reading) and 0.05 <= reading[0] < reading[-1] <= 0.8

    def test_a_soft_time_limit_ends_the_run_with_a_sentence(
        self, logged_in: Client, imola: bytes, monkeypatch, import_upload_dir: Path
    ) -> None:
        def slow(**kw):  # type: ignore[no-untyped-def]
            raise SoftTimeLimitExceeded()  # what Celery raises in the task when the soft limit passes

        monkeypatch.setattr(service, "session_import", slow)
        status = run_queued(lambda: logged_in.post(API, {"file": _named(imola, "imola.ld")})).json()
        imp = Import.objects.get(pk=status["id"])
        assert (imp.state, imp.retryable) == ("failed", True)
        assert (
            imp.error
            == "imola.ld: the import took longer than 180 s (IMPORT_TASK_SOFT_TIME_LIMIT_S); nothing was imported"
        )
        assert _nothing_stored() and list(import_upload_dir.iterdir()) == []

    def test_the_sweep_fails_a_run_whose_worker_was_killed(
        self, logged_in: Client, import_upload_dir: Path, settings
    ) -> None:
        status = _announce(logged_in, 100, name="killed.ld")
        long_ago = timezone.now() - dt.timedelta(seconds=settings.IMPORT_TASK_TIME_LIMIT_S + 61)
        Import.objects.filter(pk=status["id"]).update(state="running", started_at=long_ago)
        imports_sweep()
        imp = Import.objects.get(pk=status["id"])
        assert (imp.state, imp.error) == (
            "failed",
            "killed.ld: abandoned (the worker stopped); upload the file again",
        )
        assert list(import_upload_dir.iterdir()) == []

    def test_the_sweep_removes_abandoned_uploads_and_fails_their_imports(
        self, logged_in: Client, import_upload_dir: Path, settings
    ) -> None:
        kept = _announce(logged_in, 100, name="fresh.ld")
        gone = _announce(logged_in, 100, name="abandoned.ld")
        old = time.time() - settings.IMPORT_UPLOAD_STALE_S - 10
        os.utime(import_file_path(gone["id"]), (old, old))
        orphan = import_upload_dir / "import-99999.upload"
        orphan.write_bytes(b"x")
        os.utime(orphan, (old, old))
        (import_upload_dir / "someone-else.txt").write_bytes(b"not ours")
        assert imports_sweep() == 2
        assert sorted(p.name for p in import_upload_dir.iterdir()) == [
            f"import-{kept['id']}.upload",
            "someone-else.txt",
        ]
        failed = Import.objects.get(pk=gone["id"])
        assert (
            failed.state == "failed"
            and failed.error == "abandoned.ld: abandoned (the upload stopped); upload the file again"
        )
        assert Import.objects.get(pk=kept["id"]).state == "uploading"


# ---- the runners


def _wait_finished(import_id: int, seconds: float = 90) -> Import:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        imp = Import.objects.get(pk=import_id)
        if imp.finished:
            return imp
        time.sleep(0.1)
    raise AssertionError(f"import {import_id} did not finish: {Import.objects.get(pk=import_id)}")


def _upload_in_chunks(client: Client, data: bytes) -> dict:  # type: ignore[type-arg]
    status = _announce(client, len(data))
    for offset in range(0, len(data), CHUNK):
        status = _put(client, status.get("chunk_url") or "", offset, data[offset : offset + CHUNK]).json()
    return status


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("small_chunks")
def test_the_in_process_runner_imports_off_the_request(
    logged_in: Client, imola: bytes, settings, import_upload_dir: Path
) -> None:
    settings.JOBS_INLINE = False  # the background thread of simcoach_site/jobs.py, as without a broker
    settings.CELERY_TASK_ALWAYS_EAGER = True
    status = _upload_in_chunks(logged_in, imola)
    assert status["state"] in ("queued", "running", "done")  # the request returned; the thread works
    jobs.wait_idle(120)
    imp = _wait_finished(status["id"])
    assert (imp.state, imp.laps, imp.error) == ("done", 1, "") and imp.session is not None
    assert list(import_upload_dir.iterdir()) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("small_chunks")
def test_a_celery_worker_runs_the_import_and_a_second_delivery_is_a_no_op(
    logged_in: Client, imola: bytes, worker_queue: str, import_upload_dir: Path, fixtures_dir: Path
) -> None:
    csv_lap = (fixtures_dir / CASES["road_america_lap"].path).read_bytes()
    from apps.sessions.tasks import session_import_run_task

    status = _upload_in_chunks(logged_in, imola)
    imp = _wait_finished(status["id"])
    assert (imp.state, imp.laps) == ("done", 1) and Session.objects.count() == 1
    assert list(import_upload_dir.iterdir()) == []
    session_import_run_task.apply_async(args=[imp.pk], queue=worker_queue)  # delivered a second time
    # The solo worker takes one task at a time, in order: once a later import is done, so is the repeat.
    later = logged_in.post(API, {"file": _named(csv_lap, "lap.csv"), **CASES["road_america_lap"].meta}).json()
    assert _wait_finished(later["id"]).state == "done"
    assert Session.objects.count() == 2  # the repeat imported nothing twice
    assert Import.objects.get(pk=imp.pk).finished_at == imp.finished_at
