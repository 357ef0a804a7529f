"""The proof through storage: injected mistakes found from the stored trace, via the API.

Three noise-free demo laps after the out-lap: lap 2 is the reference, lap 3 brakes 15 m
earlier into La Source, lap 4 takes Pouhon 8 km/h slower. The demo car's own lap plans are
the ground truth for the time each mistake costs.
"""

from __future__ import annotations

import pytest
from django.test import Client

from apps.coaching.services import lap_analyse
from apps.sessions.models import Lap, Session
from apps.sessions.selectors_traces import lap_compare
from simcoach_agent.sources.demo import DemoCar

from .factories import session_with_demo_laps

REF, EARLY_BRAKE, SLOW_POUHON = 2, 3, 4
MISTAKES = {
    EARLY_BRAKE: {"brake_earlier_m": {"La Source": 15}},
    SLOW_POUHON: {"corner_speed_delta_kmh": {"Pouhon": -8}},
}

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(driver) -> Session:  # type: ignore[no-untyped-def]
    s = session_with_demo_laps(driver, laps=SLOW_POUHON, noise=False, per_lap=MISTAKES)
    for lap in s.laps.all():
        lap_analyse(lap_id=lap.pk)
    return s


def truth(lap: int) -> float:
    car = DemoCar(0, realtime=False, noise=False, per_lap=MISTAKES)
    return car.lap_plan(lap).time_s - car.lap_plan(REF).time_s


def lap_id(session: Session, number: int) -> int:
    return Lap.objects.get(session=session, number=number).pk


def api_compare(client: Client, *ids: int) -> dict:  # type: ignore[type-arg]
    response = client.get("/api/compare/", {"laps": ",".join(map(str, ids))})
    assert response.status_code == 200, response.content
    return response.json()


def test_it_blames_the_corners_with_the_planted_mistakes(client: Client, driver, session: Session) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    ids = [lap_id(session, n) for n in (REF, EARLY_BRAKE, SLOW_POUHON)]
    data = api_compare(client, *ids)
    assert data["reference_lap_id"] == ids[0]
    for versus, number, corner in zip(
        data["versus"], (EARLY_BRAKE, SLOW_POUHON), ("La Source", "Pouhon"), strict=True
    ):
        worst = versus["biggest_losses"][0]
        assert worst["name"] == corner
        assert worst["time_delta_s"] == pytest.approx(truth(number), abs=0.05)
        assert versus["time_delta_s"] == pytest.approx(truth(number), abs=0.05)
        others = [r for r in versus["corners"] if r["name"] != corner]
        assert max(abs(r["time_delta_s"]) for r in others) < 0.02


def test_it_measures_braking_points_and_apex_speeds_from_stored_corners(session: Session) -> None:
    ref = Lap.objects.get(session=session, number=REF)
    assert {"La Source", "Pouhon"} <= {c["name"] for c in ref.stats["analysis"]["corners"]}
    assert ref.stats["analysis"]["summary"]["max_speed_kmh"] > 200
    laps = [
        ref,
        *Lap.objects.filter(session=session, number__in=[EARLY_BRAKE, SLOW_POUHON]).order_by("number"),
    ]
    comp = lap_compare(laps=laps)
    early = {r.name: r for r in comp.versus[0].corners}["La Source"]
    slow = {r.name: r for r in comp.versus[1].corners}["Pouhon"]
    assert early.brake_delta_m == pytest.approx(-15.0, abs=2.0)
    assert slow.other_min_kmh == pytest.approx(slow.ref_min_kmh - 8.0, abs=1.5)
    assert comp.versus[0].losses[0][0].name == "La Source"


def test_it_serves_the_compare_page_with_the_corner_table(client: Client, driver, session: Session) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    ref, other = lap_id(session, REF), lap_id(session, EARLY_BRAKE)
    response = client.get("/compare/", {"laps": f"{ref},{other}", "ref": ref})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-corner="La Source"' in html and "braked 15 m earlier" in html


def test_it_refuses_what_it_cannot_compare_with_a_400(client: Client, driver, session: Session) -> None:  # type: ignore[no-untyped-def]
    from apps.sessions.services import track_get_or_create

    other = Session.objects.create(
        owner=driver,
        game="acc",
        track=track_get_or_create(game="acc", name="Monza", length_m=5793.0),
        car=session.car,
    )
    lap = Lap.objects.get(session=session, number=REF)
    moved = Lap.objects.create(
        session=other,
        number=1,
        started_at=lap.started_at,
        ended_at=lap.ended_at,
        t_start=lap.t_start,
        t_end=lap.t_end,
    )
    client.force_login(driver)
    response = client.get("/compare/", {"laps": f"{lap.pk},{moved.pk}"})
    assert response.status_code == 400
    assert "different tracks" in response.content.decode()
    api = client.get("/api/compare/", {"laps": f"{lap.pk},{moved.pk}"})
    assert api.status_code == 400 and "different tracks" in str(api.json()["laps"])

    ref = lap_id(session, REF)
    for laps in ("", str(ref), "a,b", f"{ref},{ref}", ",".join([str(ref)] * 5)):
        assert client.get("/compare/", {"laps": laps}).status_code == 400, laps
        assert client.get("/api/compare/", {"laps": laps}).status_code == 400, laps


class TestReferencePick:
    """The driver picks the reference; the URL names it; the page does what it says."""

    def test_it_compares_against_the_picked_lap_whatever_order_the_laps_come_in(
        self, client: Client, driver, session: Session
    ) -> None:  # type: ignore[no-untyped-def]
        client.force_login(driver)
        ref, other = lap_id(session, EARLY_BRAKE), lap_id(session, REF)
        # The session page's form sends its ticks in table order (the faster REF lap first).
        response = client.get(f"/compare/?laps={other}&laps={ref}&ref={ref}")
        assert response.status_code == 200
        html = response.content.decode()
        assert (
            html.index(f'href="/laps/{ref}/"')
            < html.index('data-w="reference"')
            < html.index(f'href="/laps/{other}/"')
        )
        assert f"vs lap {EARLY_BRAKE}:" in html and f"ref={ref}" in html
        data = client.get("/api/compare/", {"laps": f"{other},{ref}", "ref": ref}).json()
        assert data["reference_lap_id"] == ref
        assert data["versus"][0]["time_delta_s"] == pytest.approx(-truth(EARLY_BRAKE), abs=0.05)

    def test_it_names_the_default_reference_in_the_url(
        self, client: Client, driver, session: Session
    ) -> None:  # type: ignore[no-untyped-def]
        client.force_login(driver)
        out_lap, fast = lap_id(session, 1), lap_id(session, REF)
        response = client.get(f"/compare/?laps={out_lap}&laps={fast}")
        # Without a pick the fastest green lap ticked is the reference, never the out-lap on top.
        assert response.status_code == 302 and response["Location"].endswith(f"ref={fast}")
        assert client.get("/api/compare/", {"laps": f"{out_lap},{fast}"}).json()["reference_lap_id"] == fast

    def test_it_compares_a_picked_reference_that_was_not_ticked(
        self, client: Client, driver, session: Session
    ) -> None:  # type: ignore[no-untyped-def]
        client.force_login(driver)
        ticked, ref = lap_id(session, EARLY_BRAKE), lap_id(session, REF)
        response = client.get(f"/compare/?laps={ticked}&ref={ref}")
        assert response.status_code == 200
        assert 'data-w="reference"' in response.content.decode()

    @pytest.mark.parametrize("ref", ["abc", "1.5"])
    def test_it_refuses_a_reference_that_is_not_a_lap_id(
        self, client: Client, driver, session: Session, ref: str
    ) -> None:  # type: ignore[no-untyped-def]
        client.force_login(driver)
        response = client.get(
            f"/compare/?laps={lap_id(session, REF)},{lap_id(session, EARLY_BRAKE)}&ref={ref}"
        )
        assert response.status_code == 400 and b"the reference is a lap id" in response.content

    def test_it_answers_404_for_someone_elses_reference(
        self, client: Client, driver, stranger, session: Session
    ) -> None:  # type: ignore[no-untyped-def]
        client.force_login(stranger)
        ids = f"{lap_id(session, REF)},{lap_id(session, EARLY_BRAKE)}"
        assert client.get(f"/compare/?laps={ids}&ref={lap_id(session, REF)}").status_code == 404
