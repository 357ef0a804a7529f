"""POST /api/imports/ (users and rigs) and the /import/ page, on the real recordings."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from django.test import Client

from apps.sessions import views_import
from apps.sessions.models import Lap, Session
from apps.sessions.tests.import_cases import CASES, IMOLA, assert_imported_like_the_file, expected_lap_times
from apps.traces.models import TraceChunk

pytestmark = [pytest.mark.django_db, pytest.mark.fixtures, pytest.mark.usefixtures("isolated_trace_store")]
API = "/api/imports/"


def _post(client: Client, path: Path, meta: dict[str, str] | None = None, **headers: str):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        return client.post(API, {"file": f, **(meta or {})}, **headers)


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
        response = logged_in.post(API, {"file": cut, "kind": "race"})
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

    def test_it_reads_a_large_upload_from_a_temp_file(
        self, logged_in: Client, fixtures_dir: Path, monkeypatch
    ) -> None:
        seen = []
        real = views_import.session_import

        def spy(**kw):  # type: ignore[no-untyped-def]
            # a real file (not memory) with no name on disk: no link left for a killed process
            seen.append(os.fstat(kw["fileobj"].fileno()).st_nlink == 0)
            return real(**kw)

        monkeypatch.setattr(views_import, "session_import", spy)
        assert _post(logged_in, fixtures_dir / IMOLA, {"kind": "race"}).status_code == 201
        # 3.2 MB is over FILE_UPLOAD_MAX_MEMORY_SIZE: spooled to an anonymous file, never whole in memory
        assert seen == [True]

    def test_it_needs_a_file(self, logged_in: Client) -> None:
        response = logged_in.post(API, {"kind": "race"})
        assert response.status_code == 400 and "multipart field 'file'" in response.json()["error"]


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
            asked = logged_in.post("/import/", {"file": f})
        page = asked.content.decode()
        assert asked.status_code == 400
        assert "does not say its track, car;" in page and '<details id="import-fields" open>' in page
        with path.open("rb") as f:
            done = logged_in.post("/import/", {"file": [f], **CASES["garage61"].meta})
        session = Session.objects.get()
        assert done.status_code == 200 and f'href="/sessions/{session.pk}/"' in done.content.decode()

    def test_it_imports_several_files_and_reports_each(self, logged_in: Client, fixtures_dir: Path) -> None:
        paths = [fixtures_dir / CASES[n].path for n in ("lime_rock", "road_america_lap")]
        files = [p.open("rb") for p in paths]
        try:
            bad = io.BytesIO(b"not telemetry\n")
            bad.name = "notes.txt"
            response = logged_in.post("/import/", {"file": [*files, bad]})
        finally:
            for f in files:
                f.close()
        page = response.content.decode()
        assert response.status_code == 200 and Session.objects.count() == 2
        assert len(re.findall(r'href="/sessions/\d+/"', page)) == 2 and "notes.txt: not a MoTeC .ld" in page
