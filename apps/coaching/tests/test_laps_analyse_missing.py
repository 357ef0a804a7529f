from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.coaching.selectors import lap_ids_unanalysed
from apps.coaching.services import lap_analyse
from apps.sessions.models import Lap
from apps.sessions.tests.factories import session_with_demo_laps

pytestmark = pytest.mark.django_db


def test_it_finds_only_old_laps_without_analysis(driver) -> None:
    session = session_with_demo_laps(driver, laps=2)
    first, second = session.laps.order_by("number")
    Lap.objects.filter(pk__in=[first.pk, second.pk]).update(ended_at=timezone.now() - dt.timedelta(hours=1))
    lap_analyse(lap_id=first.pk)
    assert lap_ids_unanalysed(older_than_s=120) == [second.pk]
    Lap.objects.filter(pk=second.pk).update(ended_at=timezone.now())
    assert lap_ids_unanalysed(older_than_s=120) == []


def test_it_finds_laps_analysed_before_the_corner_measures(driver) -> None:
    session = session_with_demo_laps(driver, laps=1, noise=False)
    (lap,) = session.laps.all()
    Lap.objects.filter(pk=lap.pk).update(ended_at=timezone.now() - dt.timedelta(hours=1))
    lap_analyse(lap_id=lap.pk)
    assert lap_ids_unanalysed(older_than_s=120) == []
    lap.refresh_from_db()
    old = {k: v for k, v in lap.stats["analysis"].items() if k not in ("version", "corner_measures")}
    Lap.objects.filter(pk=lap.pk).update(stats={**lap.stats, "analysis": old})
    assert lap_ids_unanalysed(older_than_s=120) == [lap.pk]
    lap_analyse(lap_id=lap.pk)  # done again: the measures are back
    lap.refresh_from_db()
    assert "La Source" in lap.stats["analysis"]["corner_measures"]
    assert lap_ids_unanalysed(older_than_s=120) == []
