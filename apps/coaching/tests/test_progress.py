"""Corner history, progress and focus corners over several sessions of one driver.

The demo car drives three sessions at Spa with planted changes (noise off, so every lap of a
session is the same lap but for what is planted):
- session 1: Les Combes braked 10 m early on laps 3 and 4 (lap 2, the best, brakes normally);
- sessions 2 and 3: Les Combes braked normally (10 m later than session 1's median) and
  Pouhon taken 5 km/h slower at its minimum.
Tolerances: braking points ±2 m, speeds ±0.5 km/h, times ±0.03 s.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from apps.accounts.services import unit_preference_set
from apps.coaching.lib.history import weakest
from apps.coaching.models import FocusCorner, Report
from apps.coaching.reports import report_facts, report_generate
from apps.coaching.selectors import corner_history_for
from apps.coaching.services import lap_analyse
from apps.coaching.services_focus import FocusError, focus_close
from apps.sessions.models import Session
from apps.sessions.tests.factories import session_with_demo_laps
from simcoach_site.lib.units import IMPERIAL

LC, POUHON = "Les Combes", "Pouhon"


def _said(pattern: str, text: str) -> float:
    """The number a sentence says (its sign in words or as a real minus sign)."""
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return float(found.group(1).replace("−", "-"))


def _session(driver: Any, k: int, **demo: Any) -> Session:
    session = session_with_demo_laps(driver, start_t=1.7e9 + k * 1000, noise=False, **demo)
    for lap in session.laps.order_by("number"):
        lap_analyse(lap_id=lap.pk)
    return Session.objects.select_related("track", "car").get(pk=session.pk)


@pytest.fixture
def three_sessions(driver: Any) -> list[Session]:
    s1 = _session(driver, 1, laps=4, brake_earlier_m={LC: 10}, per_lap={2: {"brake_earlier_m": {LC: -10}}})
    s2 = _session(driver, 2, laps=4, corner_speed_delta_kmh={POUHON: -5})
    s3 = _session(driver, 3, laps=3, corner_speed_delta_kmh={POUHON: -5})
    return [s1, s2, s3]


@pytest.fixture
def first_session(driver: Any) -> Session:
    return _session(driver, 1, laps=4, brake_earlier_m={LC: 10}, per_lap={2: {"brake_earlier_m": {LC: -10}}})


@pytest.mark.django_db
class TestCornerHistory:
    def test_it_finds_the_planted_changes_with_their_sign_and_size(self, driver, three_sessions) -> None:
        s3 = three_sessions[-1]
        history = {h.name: h for h in corner_history_for(owner_id=driver.pk, track=s3.track, car=s3.car)}
        lc, pouhon = history[LC], history[POUHON]
        assert [s.laps for s in lc.sessions] == [3, 3, 2]
        assert lc.change("brake_m") == pytest.approx(10, abs=2)  # later
        assert lc.change("median_s") < -0.1  # and faster through it
        assert pouhon.change("min_kmh") == pytest.approx(-5, abs=0.5)
        assert pouhon.change("median_s") > 0.1
        assert _said(r"braking (\d+) m later", lc.trend()) == pytest.approx(10, abs=2)
        assert _said(r"^Les Combes: (−[\d.]+) s over 3 sessions", lc.trend()) < -0.1
        assert _said(r"minimum ([−+][\d.]+) km/h", pouhon.trend()) == pytest.approx(-5, abs=0.5)
        # In the reader's units: 10 m is 33 ft, −5 km/h is −3.1 mph.
        assert _said(r"braking (\d+) ft later", lc.trend(IMPERIAL)) == pytest.approx(32.8, abs=7)
        assert _said(r"minimum ([−+][\d.]+) mph", pouhon.trend(IMPERIAL)) == pytest.approx(-3.1, abs=0.4)
        assert history["Bruxelles"].change("brake_m") == pytest.approx(0, abs=2)  # nothing planted
        assert weakest(list(history.values()))[0].name == POUHON
        s1 = three_sessions[0]
        until_1 = corner_history_for(owner_id=driver.pk, track=s1.track, car=s1.car, until=s1)
        assert all(len(h.sessions) == 1 and h.sessions[0].laps == 3 for h in until_1)  # not the out-lap


@pytest.mark.django_db
class TestFocusCorners:
    def test_a_focus_opens_then_closes_when_its_target_is_met(
        self, client: Client, driver, three_sessions, no_openai_key
    ) -> None:  # type: ignore[no-untyped-def]
        s1, s2, s3 = three_sessions
        facts1 = report_facts(session=s1)
        new = [f for f in facts1["focus"] if f["status"] == "new"]
        assert [f["corner"] for f in new] == [LC] and new[0]["kind"] == "brake"
        focus = FocusCorner.objects.get(opened_in=s1)
        assert focus.target - focus.baseline == pytest.approx(10, abs=2)
        assert report_facts(session=s1)["focus"] == facts1["focus"]  # a second report: no second focus
        facts2 = report_facts(session=s2)
        (review,) = [f for f in facts2["focus"] if f["corner"] == LC]
        assert review["status"] == "met" and review["laps_met"] == 3 and review["laps"] == 3
        assert review["change"] == pytest.approx(10, abs=2)
        assert "later since last time" in review["said"] and "Target met" in review["said"]
        focus.refresh_from_db()
        assert focus.status == "met" and focus.closed_in_id == s2.pk
        report = Report.objects.create(session=s2, requested_by=driver)
        report_generate(report_id=report.pk)  # no API key: the facts-only report
        client.force_login(driver)
        panel = client.get(f"/sessions/{s2.pk}/report/?partial=1").content.decode()
        said = panel[panel.index('data-w="report-focus"') :].split("</ul>")[0]
        assert 'data-focus="Les Combes" data-status="met"' in said and "Target met" in said
        assert not [f for f in report_facts(session=s3)["focus"] if f["corner"] == LC]

    def test_the_driver_closes_a_focus_and_nobody_else_can(self, driver, stranger, first_session) -> None:
        report_facts(session=first_session)
        focus = FocusCorner.objects.get()
        with pytest.raises(FocusError):
            focus_close(focus_id=focus.pk, owner_id=stranger.pk)
        assert focus_close(focus_id=focus.pk, owner_id=driver.pk).status == "closed"
        with pytest.raises(FocusError, match="already closed"):
            focus_close(focus_id=focus.pk, owner_id=driver.pk)


@pytest.mark.django_db
class TestProgressPage:
    def test_it_shows_each_corners_trend_and_the_weakest_corners(
        self, client: Client, driver, three_sessions
    ) -> None:
        client.force_login(driver)
        report_facts(session=three_sessions[0])  # opens the Les Combes focus
        s3 = three_sessions[-1]
        html = client.get(f"/progress/?track={s3.track_id}&car={s3.car_id}").content.decode()
        lc = html[html.index('data-corner="Les Combes"') :]
        trend = lc.split("</p>")[0]
        assert _said(r"braking (\d+) m later", trend) == pytest.approx(10, abs=2)
        assert _said(r"Les Combes: (−[\d.]+) s over 3 sessions", trend) < -0.1
        pouhon = html[html.index('data-corner="Pouhon"') :].split("</p>")[0]
        assert _said(r"minimum ([−+][\d.]+) km/h", pouhon) == pytest.approx(-5, abs=0.5)
        weak = html[html.index('data-w="weakest"') :].split("</section>")[0]
        assert weak.index("Pouhon") >= 0 and "<polyline" in html
        assert 'data-focus="Les Combes" data-status="open"' in html
        assert "style=" not in html and "<script>" not in html
        api = client.get(f"/api/progress/?track={s3.track_id}&car={s3.car_id}").json()
        assert api["weakest"][0]["corner"] == POUHON
        assert [c["corner"] for c in api["corners"]][:2] == ["La Source", "Eau Rouge"]
        (lc_api,) = [c for c in api["corners"] if c["corner"] == LC]
        assert _said(r"braking (\d+) m later", lc_api["trend"]) == pytest.approx(10, abs=2)
        unit_preference_set(user=driver, units=IMPERIAL)  # the page, its charts and the API follow
        html = client.get(f"/progress/?track={s3.track_id}&car={s3.car_id}").content.decode()
        pouhon = html[html.index('data-corner="Pouhon"') :].split("</article>")[0]
        assert _said(r"minimum ([−+][\d.]+) mph", pouhon) == pytest.approx(-3.1, abs=0.4)
        assert "km/h" not in pouhon and " mph</span>" in pouhon and " ft</span>" in pouhon
        api = client.get(f"/api/progress/?track={s3.track_id}&car={s3.car_id}").json()
        (lc_api,) = [c for c in api["corners"] if c["corner"] == LC]
        assert _said(r"braking (\d+) ft later", lc_api["trend"]) == pytest.approx(32.8, abs=7)
        lap = s3.laps.get(number=2)
        assert (
            f"/progress/?track={s3.track_id}&amp;car={s3.car_id}#corner-les-combes"
            in client.get(f"/laps/{lap.pk}/").content.decode()
        )

    def test_it_refuses_a_bad_track_id(self, client: Client, driver) -> None:
        client.force_login(driver)
        response = client.get("/progress/?track=abc")
        assert response.status_code == 400 and b"whole number" in response.content
        assert client.get("/api/progress/?car=1;drop").status_code == 400

    def test_it_shows_a_stranger_nothing_of_the_drivers(
        self, client: Client, stranger, three_sessions
    ) -> None:
        client.force_login(stranger)
        s = three_sessions[0]
        api = client.get(f"/api/progress/?track={s.track_id}&car={s.car_id}").json()
        assert api["corners"] == [] and api["track"] is None
        assert 'data-w="progress-empty"' in client.get("/progress/").content.decode()


def _answer(summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "opportunities": [],
        "tyres": "Tyres in their window.",
        "brakes": "Brakes in their window.",
        "fuel": "Fuel is fine.",
        "consistency": "Steady laps.",
        "plan": "Keep the later braking at Les Combes and carry more speed through Pouhon.",
    }


@pytest.mark.django_db
class TestReportWithHistory:
    def test_the_model_gets_the_history_and_its_numbers_are_grounded(
        self, driver, three_sessions, openai_server
    ) -> None:  # type: ignore[no-untyped-def]
        from apps.coaching.lib.factref import leaves
        from apps.coaching.lib.report_text import render_sections

        for s in three_sessions[:2]:
            report_facts(session=s)
        s3 = three_sessions[-1]
        history = report_facts(session=s3)["history"]
        rows = {r["corner"]: r for r in history["corners"]}
        lc, pouhon = rows[LC], rows[POUHON]
        assert lc["brake_change_m"] == pytest.approx(10, abs=2)
        assert pouhon["min_speed_change_kmh"] == pytest.approx(-5, abs=0.5)
        assert history["weakest"][0]["corner"] == POUHON and history["sessions"] == 3
        honest = (
            f"Since your first session here you brake {lc['brake_change_m']:.0f} m later at Les Combes, "
            f"and your minimum at Pouhon is {abs(pouhon['min_speed_change_kmh']):.1f} km/h lower, "
            f"costing {pouhon['time_change_s']:.2f} s there."
        )
        invented = "You now brake 9.87 m later at Les Combes."
        values = [f.value for f in leaves(report_facts(session=s3)) if isinstance(f.value, int | float)]
        assert not any(abs(abs(v) - 9.87) < 0.005 for v in values)
        openai_server.answer(_answer(honest), _answer(invented), _answer(invented))
        good = Report.objects.create(session=s3, requested_by=driver)
        report_generate(report_id=good.pk)
        good.refresh_from_db()
        assert good.status == "ready" and good.flagged == [] and good.llm_calls == 1
        # The honest numbers are kept: bound to their facts, shown by the site, never "[?]".
        shown = render_sections(good.sections, good.facts)["summary"]
        assert "Les Combes" in shown and "Pouhon" in shown and "[?]" not in shown
        prompt = openai_server.requests[0]["body"]["messages"][-1]["content"]
        assert '"history"' in prompt and lc["trend"] in prompt
        bad = Report.objects.create(session=s3, requested_by=driver)
        report_generate(report_id=bad.pk)
        bad.refresh_from_db()
        assert [f for f in bad.flagged if "9.87" in f] and len(bad.flagged) == 1
        assert "[?]" in render_sections(bad.sections, bad.facts)["summary"]


@pytest.mark.django_db
def test_the_live_page_lists_the_open_focus_corners(client: Client, driver, stranger, first_session) -> None:  # type: ignore[no-untyped-def]
    s1 = first_session
    client.force_login(driver)
    assert 'data-w="live-focus"' not in client.get(f"/sessions/{s1.pk}/live/").content.decode()
    report_facts(session=s1)
    for url in (f"/sessions/{s1.pk}/live/", "/live/"):
        html = client.get(url).content.decode()
        panel = html[html.index('data-w="live-focus"') :].split("</ul>")[0]
        assert 'data-focus="Les Combes"' in panel and "brake at 22" in panel, url
    focus = FocusCorner.objects.get()
    assert client.post(f"/progress/focus/{focus.pk}/close/").status_code == 302
    assert 'data-w="live-focus"' not in client.get(f"/sessions/{s1.pk}/live/").content.decode()
    client.force_login(stranger)
    assert client.post(f"/progress/focus/{focus.pk}/close/").status_code == 404


@pytest.mark.django_db
def test_an_admin_renames_a_corner_and_every_page_follows(client: Client, admin_user, driver) -> None:  # type: ignore[no-untyped-def]
    s1 = _session(driver, 1, laps=2)
    track = s1.track
    corners = [dict(c) for c in track.corners]
    corners[0]["name"] = "Virage de la Source"
    client.force_login(admin_user)
    form = {"name": track.name, "game": track.game, "length_m": track.length_m}
    bad = client.post(
        f"/admin/racing_sessions/track/{track.pk}/change/", {**form, "corners": '[{"name": "x"}]'}
    )
    assert bad.status_code == 200 and "start_m must be a number" in bad.content.decode()
    import json

    ok = client.post(
        f"/admin/racing_sessions/track/{track.pk}/change/", {**form, "corners": json.dumps(corners)}
    )
    assert ok.status_code == 302, ok.content.decode()[:2000]
    lap = s1.laps.get(number=2)
    lap_analyse(lap_id=lap.pk)  # analysed on the old names: done again with the new ones
    lap.refresh_from_db()
    assert lap.stats["analysis"]["corners"][0]["name"] == "Virage de la Source"
    history = corner_history_for(owner_id=driver.pk, track=Session.objects.get(pk=s1.pk).track, car=s1.car)
    assert history[0].name == "Virage de la Source" and history[0].sessions[0].laps == 1
