"""POST /api/imports/ (users and rigs) and the /import/ page, on the real recordings."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.test import Client

from apps.sessions import services_import_jobs
from apps.sessions.models import Import, Lap, Session
from apps.sessions.tests.api_import import Outcome, api_import, run_queued
from apps.sessions.tests.import_cases import CASES, IMOLA, assert_imported_like_the_file, expected_lap_times
from apps.traces.models import TraceChunk

pytestmark = [
    pytest.mark.usefixtures("imports_run_here"),
    pytest.mark.django_db,
    pytest.mark.fixtures,
    pytest.mark.usefixtures("isolated_trace_store"),
]
API = "/api/imports/"


def _post(client: Client, path: Path, meta: dict[str, object] | None = None, **headers: str) -> Outcome:
    with path.open("rb") as f:
        return api_import(client, {"file": f, **(meta or {})}, **headers)


def _rig_headers(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def logged_in(client: Client, driver) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    return client


class TestImportApi:
    @pytest.mark.parametrize("name", sorted(CASES))
    def test_it_imports_each_recording_for_a_user(
        self, name: str, logged_in: Client, fixtures_dir: Path
    ) -> None:
        case = CASES[name]
        if case.ldx:
            with (fixtures_dir / case.ldx).open("rb") as ldx:
                response = _post(logged_in, fixtures_dir / case.path, {**case.meta, "ldx": ldx})
        else:
            response = _post(logged_in, fixtures_dir / case.path, case.meta)
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["created"] is True and body["url"] == f"/sessions/{body['session_id']}/"
        session = Session.objects.select_related("track").get(pk=body["session_id"])
        assert body["laps"] == session.laps.count() and isinstance(body["warnings"], list)
        assert_imported_like_the_file(session, case, expected_lap_times(fixtures_dir, case))

    def test_it_takes_a_rig_token_and_imports_for_the_rigs_owner(
        self, client: Client, rig_and_token, driver, fixtures_dir: Path
    ) -> None:
        rig, token = rig_and_token
        path = fixtures_dir / CASES["magny_cours"].path
        first = _post(client, path, **_rig_headers(token))
        assert first.status_code == 201
        session = Session.objects.get(pk=first.json()["session_id"])
        assert (session.owner, session.rig, session.game) == (driver, rig, "iracing")
        again = _post(client, path, **_rig_headers(token))
        assert again.status_code == 200
        assert (again.json()["session_id"], again.json()["created"]) == (session.pk, False)
        assert Session.objects.count() == 1

    def test_it_refuses_a_wrong_rig_token_and_no_credentials(
        self, client: Client, fixtures_dir: Path
    ) -> None:
        path = fixtures_dir / CASES["road_america_lap"].path
        assert _post(client, path, **_rig_headers("sc_rig_not-a-real-token")).status_code == 401
        assert _post(client, path).status_code in (401, 403)
        assert Session.objects.count() == 0

    def test_it_names_a_truncated_file_and_stores_nothing(
        self, logged_in: Client, fixtures_dir: Path
    ) -> None:
        raw = (fixtures_dir / IMOLA).read_bytes()
        cut = io.BytesIO(raw[: len(raw) // 3])
        cut.name = "imola.ld"
        response = api_import(logged_in, {"file": cut, "kind": "race"})
        assert response.status_code == 400
        assert response.json()["error"].startswith("imola.ld: MoTeC .ld")
        assert (Session.objects.count(), Lap.objects.count(), TraceChunk.objects.count()) == (0, 0, 0)

    def test_it_lists_the_missing_fields(self, logged_in: Client, fixtures_dir: Path) -> None:
        response = _post(logged_in, fixtures_dir / CASES["garage61"].path, {"kind": "practice"})
        assert response.status_code == 400
        assert response.json()["missing"] == ["track", "car"]

    def test_it_refuses_a_file_over_the_limit(self, logged_in: Client, fixtures_dir: Path, settings) -> None:
        settings.IMPORT_MAX_BYTES = 100_000
        response = _post(logged_in, fixtures_dir / IMOLA, {"kind": "race"})
        assert response.status_code == 413
        assert "limit is" in response.json()["error"] and "IMPORT_MAX_BYTES" in response.json()["error"]
        assert Session.objects.count() == 0

    def test_the_worker_reads_the_upload_from_its_own_file_and_removes_it(
        self, logged_in: Client, fixtures_dir: Path, monkeypatch, import_upload_dir: Path
    ) -> None:
        seen = []
        real = services_import_jobs.session_import

        def spy(**kw):  # type: ignore[no-untyped-def]
            seen.append(Path(kw["fileobj"].name).parent)
            return real(**kw)

        monkeypatch.setattr(services_import_jobs, "session_import", spy)
        assert _post(logged_in, fixtures_dir / IMOLA, {"kind": "race"}).status_code == 201
        # read from the per-import file under IMPORT_UPLOAD_DIR, which is gone once the task ended
        assert seen == [import_upload_dir] and list(import_upload_dir.iterdir()) == []

    def test_it_needs_a_file(self, logged_in: Client) -> None:
        response = logged_in.post(API, {"kind": "race"})
        assert response.status_code == 400 and "multipart field 'file'" in response.json()["error"]
        assert Import.objects.count() == 0


class TestImportPage:
    def test_it_needs_a_login(self, client: Client) -> None:
        assert client.get("/import/").status_code == 302

    def test_it_shows_the_form(self, logged_in: Client) -> None:
        page = logged_in.get("/import/").content.decode()
        assert 'name="file" multiple' in page and 'name="ldx"' in page and "js/import.js" in page
        assert '<details id="import-fields">' in page  # metadata fields folded away until needed

    def test_it_asks_for_the_fields_the_file_lacks_then_imports(
        self, logged_in: Client, fixtures_dir: Path
    ) -> None:
        path = fixtures_dir / CASES["garage61"].path
        with path.open("rb") as f:
            asked = run_queued(lambda: logged_in.post("/import/", {"file": f}))
        assert asked.status_code == 302 and asked["Location"] == "/import/"  # queued, then listed
        page = logged_in.get("/import/").content.decode()
        assert "does not say its track, car;" in page and '<details id="import-fields" open>' in page
        with path.open("rb") as f:
            done = run_queued(lambda: logged_in.post("/import/", {"file": [f], **CASES["garage61"].meta}))
        session = Session.objects.get()
        page = logged_in.get(done["Location"]).content.decode()
        assert f'href="/sessions/{session.pk}/"' in page

    def test_it_imports_several_files_and_reports_each(self, logged_in: Client, fixtures_dir: Path) -> None:
        paths = [fixtures_dir / CASES[n].path for n in ("lime_rock", "road_america_lap")]
        files = [p.open("rb") for p in paths]
        try:
            bad = io.BytesIO(b"not telemetry\n")
            bad.name = "notes.txt"
            response = run_queued(lambda: logged_in.post("/import/", {"file": [*files, bad]}))
        finally:
            for f in files:
                f.close()
        assert response.status_code == 302 and Session.objects.count() == 2
        page = logged_in.get("/import/").content.decode()
        assert len(re.findall(r'href="/sessions/\d+/"', page)) == 2 and "notes.txt: not a MoTeC .ld" in page
        assert page.count('data-state="done"') == 2 and page.count('data-state="failed"') == 1
