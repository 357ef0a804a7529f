"""Everyday use: the /api/ front door, a script's token download, the favicon, page titles,
and numbers in sentences."""

from __future__ import annotations

import re

import pytest
from django.template.loader import get_template
from django.test import Client
from rest_framework.authtoken.models import Token

from apps.coaching.lib.report_text import _consistency, _fuel, _summary
from apps.sessions.tests.factories import session_with_demo_laps
from simcoach_agent.sizes import megabytes
from simcoach_site.lib.words import count


@pytest.mark.django_db
def test_the_api_root_lists_every_route_with_methods_and_auth(client: Client) -> None:
    response = client.get("/api/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200  # anonymous: a list of routes holds no data
    body = response.json()
    assert (body["docs"], body["schema"]) == ("/api/docs/", "/api/schema/")
    rows = {row["path"]: row for row in body["endpoints"]}
    assert rows["/api/sessions/"]["methods"] == ["GET"]
    assert {"session", "token"} <= set(rows["/api/sessions/{session_id}/"]["auth"])
    assert rows["/api/imports/"]["methods"] == ["POST"] and "rig token" in rows["/api/imports/"]["auth"]
    assert rows["/laps/{lap_id}/export.csv"]["auth"] == ["session", "token"]
    assert rows["/api/status"]["auth"] == ["none"] and rows["/api/status"]["public"]
    assert rows["/api/schema/"]["public"] and not rows["/api/sessions/"]["public"]
    assert not rows["/laps/{lap_id}/export.ld"]["public"]
    unsaid = [
        p for p, row in rows.items() if not row["summary"] and not p.startswith(("/api/schema", "/api/docs"))
    ]
    assert unsaid == [], "each route says what it is for"
    assert rows["/sessions/{session_id}/export.parquet"]["auth"] == ["session", "token"]
    # Pages stay out: only the API and the routes a script may call with a token are listed.
    pages = [p for p in rows if p.startswith(("/admin", "/sessions/", "/laps/")) and "/export." not in p]
    assert "/api/" not in rows and pages == []


@pytest.mark.django_db
def test_a_token_downloads_a_lap_export(driver) -> None:  # type: ignore[no-untyped-def]
    lap = session_with_demo_laps(driver, laps=2).laps.order_by("number").last()
    assert lap is not None
    script = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=driver).key}")
    response = script.get(f"/laps/{lap.pk}/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode().splitlines()  # type: ignore[attr-defined]
    assert "SPEED [km/h]" in lines[0] and len(lines) > 100  # the user's units: none chosen, km/h
    motec = script.get(f"/laps/{lap.pk}/export.ld")
    assert motec.status_code == 200 and len(motec.content) > 1000


@pytest.mark.django_db
def test_another_users_token_cannot_download_the_lap(driver, stranger) -> None:  # type: ignore[no-untyped-def]
    lap = session_with_demo_laps(driver, laps=2).laps.first()
    assert lap is not None
    script = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=stranger).key}")
    assert script.get(f"/laps/{lap.pk}/export.csv").status_code == 404


@pytest.mark.django_db
def test_api_docs_use_the_sites_own_swagger_ui(client: Client) -> None:
    page = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/") for a in assets), assets  # none from another origin
    assert any("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in a for a in assets)
    assert "<script>" not in page and "<style" not in page  # files only: the site's CSP holds
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle(" in script.content


@pytest.mark.django_db
def test_favicon_ico_is_served_not_404(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # type: ignore[attr-defined]
    page = client.get("/accounts/login/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in page


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/accounts/signup/"])
def test_page_titles_name_the_site_once(client: Client, url: str) -> None:
    title = re.search(r"<title>(.*?)</title>", client.get(url).content.decode(), re.S)
    assert title and title.group(1).count("SimCoach") == 1 and not title.group(1).startswith(" ·")


def test_every_page_template_has_a_title_of_its_own() -> None:
    from pathlib import Path

    from django.conf import settings

    root = Path(settings.BASE_DIR) / "templates"
    pages = [p for p in root.rglob("*.html") if '{% extends "base.html" %}' in p.read_text()]
    assert len(pages) > 10
    untitled = [str(p.relative_to(root)) for p in pages if "{% block title %}" not in p.read_text()]
    assert untitled == [], "base.html's title is empty: each page names itself"
    assert get_template("home.html")  # the templates found are the ones Django loads


@pytest.mark.parametrize(
    ("n", "text"), [(1, "1 lap"), (0, "0 laps"), (2, "2 laps"), (1.0, "1.0 laps"), (2.5, "2.5 laps")]
)
def test_count_pluralizes(n: float, text: str) -> None:
    assert count(n, "lap") == text


@pytest.mark.parametrize(
    ("size", "text"),
    [(200 * 2**20, "200 MB"), (100_000, "0.1 MB"), (12 * 2**20 + 2**19, "12.5 MB"), (0, "0 MB")],
)
def test_megabytes_reads_in_round_units(size: int, text: str) -> None:
    assert megabytes(size) == text


def test_the_report_says_1_lap_not_1_laps() -> None:
    facts = {
        "session": {"kind": "practice", "track": "Spa", "car": "GT3"},
        "laps": {"total": 1, "green": 1},
    }
    assert "1 lap, 1 green." in _summary(facts)
    assert _fuel({"per_lap_l": 2.9, "left_l": 3.1, "laps_left": 1.1}).endswith("1.1 laps.")
    cons = {
        "laps": 2,
        "spread_s": 0.4,
        "std_dev_s": 0.2,
        "average": "2:18.1",
        "within_half_second_of_best": 2,
    }
    assert _consistency(cons).startswith("Over 2 green laps")


@pytest.mark.django_db
def test_the_import_page_states_the_limit_in_round_units(client: Client, driver, settings) -> None:  # type: ignore[no-untyped-def]
    settings.IMPORT_MAX_BYTES = 200 * 1024 * 1024
    client.force_login(driver)
    assert "up to 200 MB each" in client.get("/import/").content.decode()
