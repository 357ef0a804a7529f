"""One corner set per track: the lap pages, compare, the report and the live view name the same
corners, on a real recording of a track the agent has no corner table for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from apps.coaching.reports import report_facts
from apps.coaching.services import lap_analyse, track_corner_set
from apps.sessions.lib.stats import lap_value
from apps.sessions.models import Lap, Session, Track
from apps.sessions.selectors import session_live_snapshot
from apps.sessions.services_import import session_import
from simcoach_agent.tracks import track_lookup

from .factories import session_with_demo_laps

pytestmark = pytest.mark.django_db
MAGNY_COURS = "crewchief/session_1681021274_df.csv.gz"


@pytest.fixture
def magny_cours(
    driver, fixtures_dir: Path, isolated_trace_store, django_capture_on_commit_callbacks
) -> Session:  # type: ignore[no-untyped-def]
    path = fixtures_dir / MAGNY_COURS
    with path.open("rb") as f:
        session = session_import(owner=driver, fileobj=f, filename=path.name).session
    assert track_lookup(session.track.name) is None and session.track.corners == []
    # In the order the live path analyses laps: the out-lap first, before any green lap. The
    # set is made on the first green lap; the laps analysed before it are queued again.
    with django_capture_on_commit_callbacks(execute=True):
        for lap in session.laps.order_by("number"):
            lap_analyse(lap_id=lap.pk)
    return session


def _lap_page_corners(client: Client, lap: Lap) -> list[str]:
    html = client.get(f"/laps/{lap.pk}/").content.decode()
    table = html[html.index('data-w="corners"') :]
    table = table[: table.index("</table>")]
    return re.findall(r"<tr><td>([^<]+)</td>", table)


@pytest.mark.fixtures
def test_it_names_the_same_corners_on_every_page(client: Client, driver, magny_cours: Session) -> None:  # type: ignore[no-untyped-def]
    track = Track.objects.get(pk=magny_cours.track_id)
    names = [c["name"] for c in track.corners]
    # Detected on the best lap, named from the curated data (simcoach_agent.corner_names).
    assert names == ["Estoril", "Adélaïde", "180°", "Imola", "Château d’Eau", "Lycée"]
    client.force_login(driver)
    green = [lap for lap in magny_cours.laps.order_by("number") if lap_value(lap).green]
    for lap in magny_cours.laps.order_by("number"):
        if lap.stats["analysis"]["corners"]:  # the last lap is cut short: no whole corner
            assert _lap_page_corners(client, lap) == names, lap.number
    a, b = green[0], green[-1]
    html = client.get(f"/compare/?laps={a.pk},{b.pk}&ref={a.pk}").content.decode()
    assert re.findall(r'data-corner="([^"]+)"', html) == names
    api = client.get("/api/compare/", {"laps": f"{a.pk},{b.pk}", "ref": b.pk}).json()
    assert [r["name"] for r in api["versus"][0]["corners"]] == names
    fresh = Session.objects.select_related("track", "car").get(pk=magny_cours.pk)
    facts = report_facts(session=fresh)
    assert sorted(c["corner"] for c in facts["corners"]) == sorted(names)
    assert [c["name"] for c in session_live_snapshot(session=fresh)["corners"]] == names  # type: ignore[attr-defined]


@pytest.mark.fixtures
def test_it_never_renumbers_the_set_after_a_later_lap(driver, magny_cours: Session) -> None:  # type: ignore[no-untyped-def]
    before = Track.objects.get(pk=magny_cours.track_id).corners
    # The best lap gets slower and another lap becomes the best: the set stays.
    best = min((lap for lap in magny_cours.laps.all() if lap_value(lap).green), key=lambda lap: lap.time_ms)
    Lap.objects.filter(pk=best.pk).update(
        time_ms=best.time_ms + 60_000, stats={**best.stats, "analysed": False}
    )
    lap_analyse(lap_id=best.pk)
    assert Track.objects.get(pk=magny_cours.track_id).corners == before
    assert [c.name for c in track_corner_set(session=magny_cours)] == [c["name"] for c in before]


def test_it_takes_the_agents_named_corners_where_it_has_them(driver) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=2)
    for lap in session.laps.all():
        lap_analyse(lap_id=lap.pk)
    spa = track_lookup(session.track.name)
    assert spa is not None
    assert [c.name for c in track_corner_set(session=session)] == [c.name for c in spa.corners]
    lap2 = session.laps.get(number=2)
    assert [c["name"] for c in lap2.stats["analysis"]["corners"]] == [c.name for c in spa.corners]


def test_it_waits_for_a_green_lap_before_making_a_set(driver) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=1)  # only the out-lap
    Track.objects.filter(pk=session.track_id).update(name="Nowhere Raceway", corners=[])
    session.refresh_from_db()
    assert track_corner_set(session=session) == []
    assert Track.objects.get(pk=session.track_id).corners == []
