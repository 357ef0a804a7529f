"""The proof through storage: injected mistakes found from the stored trace, via the API.

Three noise-free demo laps after the out-lap: lap 2 is the reference, lap 3 brakes 15 m
earlier into La Source, lap 4 takes Pouhon 8 km/h slower. The demo car's own lap plans are
the ground truth for the time each mistake costs.
"""

from __future__ import annotations

import pytest
from django.test import Client
from simcoach_agent.sources.demo import DemoCar

from apps.coaching.services import lap_analyse
from apps.sessions.models import Lap, Session
from apps.sessions.traces import lap_compare

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


def test_it_stores_each_laps_corners_once(session: Session) -> None:
    lap = Lap.objects.get(session=session, number=REF)
    names = [c["name"] for c in lap.stats["analysis"]["corners"]]
    assert {"La Source", "Pouhon"} <= set(names)
    assert lap.stats["analysis"]["summary"]["max_speed_kmh"] > 200


@pytest.mark.parametrize(("number", "corner"), [(EARLY_BRAKE, "La Source"), (SLOW_POUHON, "Pouhon")])
def test_it_blames_the_corner_with_the_planted_mistake(
    client: Client, driver, session: Session, number: int, corner: str
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    data = api_compare(client, lap_id(session, REF), lap_id(session, number))
    versus = data["versus"][0]
    worst = versus["biggest_losses"][0]
    assert worst["name"] == corner
    assert worst["time_delta_s"] == pytest.approx(truth(number), abs=0.05)
    assert versus["time_delta_s"] == pytest.approx(truth(number), abs=0.05)
    row = next(r for r in versus["corners"] if r["name"] == corner)
    assert row["time_delta_s"] == pytest.approx(truth(number), abs=0.05)


def test_it_reports_the_braking_point_and_apex_speed(session: Session) -> None:
    laps = list(Lap.objects.filter(session=session, number__in=[REF, EARLY_BRAKE, SLOW_POUHON]).order_by("number"))
    comp = lap_compare(laps=laps)
    early = {r.name: r for r in comp.versus[0].corners}["La Source"]
    slow = {r.name: r for r in comp.versus[1].corners}["Pouhon"]
    assert early.brake_delta_m == pytest.approx(-15.0, abs=2.0)
    assert slow.other_min_kmh == pytest.approx(slow.ref_min_kmh - 8.0, abs=1.5)


def test_it_serves_the_compare_page_with_the_corner_table(client: Client, driver, session: Session) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    response = client.get("/compare/", {"laps": f"{lap_id(session, REF)},{lap_id(session, EARLY_BRAKE)}"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-corner="La Source"' in html and "braked 15 m earlier" in html


def test_it_refuses_laps_on_different_tracks(client: Client, driver, session: Session) -> None:  # type: ignore[no-untyped-def]
    from apps.sessions.services import track_get_or_create

    other = Session.objects.create(
        owner=driver, game="acc", track=track_get_or_create(game="acc", name="Monza", length_m=5793.0), car=session.car
    )
    lap = Lap.objects.get(session=session, number=REF)
    moved = Lap.objects.create(
        session=other, number=1, started_at=lap.started_at, ended_at=lap.ended_at, t_start=lap.t_start, t_end=lap.t_end
    )
    client.force_login(driver)
    response = client.get("/compare/", {"laps": f"{lap.pk},{moved.pk}"})
    assert response.status_code == 400
    assert "different tracks" in response.content.decode()
    api = client.get("/api/compare/", {"laps": f"{lap.pk},{moved.pk}"})
    assert api.status_code == 400 and "different tracks" in api.json()["laps"][0]


@pytest.mark.parametrize("laps", ["", "1", "a,b", "1,1"])
def test_it_refuses_bad_lap_lists_with_a_400(client: Client, driver, session: Session, laps: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    if laps in ("1", "1,1"):
        laps = laps.replace("1", str(lap_id(session, REF)))
    assert client.get("/compare/", {"laps": laps}).status_code == 400
    assert client.get("/api/compare/", {"laps": laps}).status_code == 400
