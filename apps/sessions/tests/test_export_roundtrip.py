"""A lap exported as MoTeC .ld + .ldx and imported back is the same lap: laps, time, game, kind."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.test import Client

from apps.sessions.models import Lap, Session
from apps.sessions.services_import import session_import
from apps.sessions.tests.import_cases import CASES, session_trace

from .factories import session_with_demo_laps

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_trace_store")]


def _round_trip(client: Client, lap: Lap, owner) -> Session:  # type: ignore[no-untyped-def]
    """Export the lap through the site's views and import both files back, with no form fields."""
    ld = client.get(f"/laps/{lap.pk}/export.ld")
    ldx = client.get(f"/laps/{lap.pk}/export.ldx")
    assert ld.status_code == ldx.status_code == 200
    outcome = session_import(owner=owner, fileobj=io.BytesIO(ld.content), filename="lap.ld", ldx=ldx.content)
    return outcome.session


def _assert_same_lap(back: Session, lap: Lap) -> None:
    source = lap.session
    assert (back.game, back.kind, back.track.name, back.car.name) == (
        source.game,
        source.kind,
        source.track.name,
        source.car.name,
    )
    laps = list(back.laps.all())
    assert len(laps) == 1, [(x.number, x.stats) for x in laps]  # no out-lap, no phantom lap
    (again,) = laps
    assert abs(again.time_ms - lap.time_ms) <= 10  # within 0.01 s
    assert again.stats["timing"] == "beacon" and again.valid and not again.is_out_lap


def test_a_demo_lap_comes_back_the_same(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=3)
    lap = session.laps.get(number=2)
    assert lap.time_ms and lap.valid
    client.force_login(driver)
    back = _round_trip(client, lap, driver)
    _assert_same_lap(back, lap)
    assert {"speed", "throttle", "brake", "gear", "steering", "rpm"} <= set(session_trace(back))


def test_an_imported_fixture_lap_comes_back_the_same(client: Client, driver, fixtures_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = fixtures_dir / CASES["lime_rock"].path
    with path.open("rb") as f:
        source = session_import(owner=driver, fileobj=f, filename=path.name).session
    lap = source.laps.get(number=5)  # 61.833 s by AC's LapTimePrevious
    assert lap.time_ms == 61_833
    client.force_login(driver)
    _assert_same_lap(_round_trip(client, lap, driver), lap)


def test_an_untimed_lap_comes_back_untimed(client: Client, driver, fixtures_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = fixtures_dir / CASES["magny_cours"].path
    with path.open("rb") as f:
        source = session_import(owner=driver, fileobj=f, filename=path.name).session
    lap = source.laps.get(number=2)  # a pit lap iRacing gave no time
    assert lap.time_ms is None
    client.force_login(driver)
    (again,) = _round_trip(client, lap, driver).laps.all()
    assert (again.time_ms, again.valid, again.stats["timing"]) == (None, False, "untimed")
    assert again.stats["duration_s"] == pytest.approx(lap.stats["duration_s"], abs=0.05)
