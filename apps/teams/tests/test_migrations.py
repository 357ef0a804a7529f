"""Sessions recorded before teams existed get their best lap (migration 0002): they show on
the leaderboards as soon as the driver shares them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.sessions.lib.stats import best_lap, lap_value
from apps.sessions.tests.factories import session_with_demo_laps
from apps.teams.models import SessionBest

BEFORE_BACKFILL = [("teams", "0001_initial")]


def _migrate(targets: list[tuple[str, str | None]]) -> None:
    MigrationExecutor(connection).migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_the_backfill_gives_every_old_session_its_best_green_lap(driver) -> None:  # type: ignore[no-untyped-def]
    try:
        _migrate(BEFORE_BACKFILL)
        session = session_with_demo_laps(driver, laps=3)  # the lap hook fills it: forget that
        SessionBest.objects.all().delete()
        empty = session_with_demo_laps(driver, laps=0)
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    best = best_lap(lap_value(lap) for lap in session.laps.all())
    assert best is not None
    kept = SessionBest.objects.get(session=session)
    assert (kept.lap_id, kept.time_ms) == (best.key, best.time_ms)
    assert not SessionBest.objects.filter(session=empty).exists()
