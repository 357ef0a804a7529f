"""Every page of a session in every state it can be in: no 500, and what each page says.

States from issue "Lap truth": live before the first complete lap, only untimed laps, no
sectors, no position data, one lap. Each is built through the real write path (the demo car
streamed into the ingest service), then changed the way the importers and the live path
store such laps.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.coaching.services import lap_analyse
from apps.sessions.models import Lap, Session
from apps.sessions.selectors import session_live_snapshot

from .crawl import Page, crawl
from .factories import session_with_demo_laps

pytestmark = pytest.mark.django_db

# What a page may answer besides 200: a lap without a usable trace has no channels or export
# (404), and laps that cannot be compared get the compare page's explanation (400).
REFUSALS = {"channels": {404}, "csv": {404}, "ld": {404}, "compare": {400}}


def _checked(client: Client, driver, session: Session) -> dict[str, Page]:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    pages = crawl(client, session)
    for page in pages:
        allowed = {200} | next(
            (v for k, v in REFUSALS.items() if page.what.endswith(k) or k in page.what), set()
        )
        assert page.status in allowed, str(page)
    return {p.what: p for p in pages}


def _analysed(session: Session) -> Session:
    for lap in session.laps.all():
        lap_analyse(lap_id=lap.pk)
    return session


def test_it_serves_a_live_session_before_its_first_lap(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=0, end=False)
    assert session.state == Session.State.LIVE and not session.laps.exists()
    pages = _checked(client, driver, session)
    assert "No completed laps." in pages["session page"].body.decode()
    api = client.get(f"/api/sessions/{session.pk}/").json()
    assert (api["best_lap_ms"], api["theoretical_best_ms"], api["consistency_ms"], api["laps"]) == (
        None,
        None,
        None,
        [],
    )
    assert client.get(reverse("session-live", args=[session.pk])).status_code == 200
    snapshot = session_live_snapshot(session=session)
    assert (snapshot["best_lap_ms"], snapshot["laps"]) == (None, [])


def test_it_serves_a_session_of_untimed_laps(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = _analysed(session_with_demo_laps(driver, laps=3))
    session.laps.update(time_ms=None, stats={"timing": "untimed", "partial": False})
    pages = _checked(client, driver, session)
    assert pages["compare page"].status == 200
    api = client.get(f"/api/sessions/{session.pk}/").json()
    assert api["best_lap_ms"] is None and api["green_laps"] == 0 and api["theoretical_best_ms"] is None
    assert {lap["timing"] for lap in api["laps"]} == {"untimed"}
    assert client.get("/api/sessions/").json()["results"][0]["best_lap_ms"] is None
    assert "untimed" in pages["session page"].body.decode()
    # Never a reference: no button on its page, and a POST is refused with the reason.
    lap = session.laps.get(number=2)
    assert 'data-w="reference"' not in pages["lap 2 page"].body.decode()
    refused = client.post(reverse("lap-reference", args=[lap.pk]))
    assert refused.status_code == 400 and b"untimed or partial" in refused.content
    assert not Lap.objects.get(pk=lap.pk).is_reference


def test_it_serves_a_session_without_sectors(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = _analysed(session_with_demo_laps(driver, laps=3))
    session.laps.update(sector_ms=[])
    pages = _checked(client, driver, session)
    api = client.get(f"/api/sessions/{session.pk}/").json()
    assert api["best_sectors_ms"] == [] and api["theoretical_best_ms"] is None
    assert api["best_lap_ms"] is not None
    assert "<th>S1</th>" not in pages["session page"].body.decode()


def test_it_serves_a_session_without_position_data(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = _analysed(session_with_demo_laps(driver, laps=3, drop=("pos_x", "pos_y", "pos_z")))
    pages = _checked(client, driver, session)
    assert pages["compare page"].status == 200
    assert client.get(pages["compare api"].url).json()["map"] is None
    assert session_live_snapshot(session=session)["outline"] == []


def test_it_serves_a_session_of_one_lap(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = _analysed(session_with_demo_laps(driver, laps=1))
    assert session.laps.count() == 1
    pages = _checked(client, driver, session)
    assert all(p.status == 200 for p in pages.values()), [str(p) for p in pages.values() if p.status != 200]
    api = client.get(f"/api/sessions/{session.pk}/").json()
    # The one lap is the out-lap: stored and shown, never a best or a statistic.
    assert api["best_lap_ms"] is None and api["consistency_ms"] is None and len(api["laps"]) == 1


def test_it_explains_a_compare_of_laps_without_traces(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=2)
    laps = list(session.laps.order_by("number"))
    Lap.objects.filter(pk__in=[lap.pk for lap in laps]).update(t_start=1.0, t_end=2.0)  # nothing stored there
    client.force_login(driver)
    response = client.get(f"/compare/?laps={laps[0].pk},{laps[1].pk}&ref={laps[1].pk}")
    assert response.status_code == 400 and b"no stored trace" in response.content
