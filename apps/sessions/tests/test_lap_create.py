"""lap_create applies the one lap rule to live laps as the importer does to files."""

from __future__ import annotations

import uuid

import pytest

from apps.sessions.lib.laps import CompletedLap
from apps.sessions.lib.stats import is_green, lap_value
from apps.sessions.services import lap_create, session_open

pytestmark = pytest.mark.django_db


def _lap(number: int, timing: str, valid: bool) -> CompletedLap:
    return CompletedLap(
        number=number, t_start=1.7e9 + 100 * number, t_end=1.7e9 + 100 * number + 92.5, time_s=92.5,
        timing=timing, sectors_s=[], valid=valid, is_out_lap=False, is_in_lap=False, partial=False,
        fuel_used_l=None,
    )  # fmt: skip


def test_it_stores_an_untimed_live_lap_without_a_lap_time(driver) -> None:  # type: ignore[no-untyped-def]
    session = session_open(
        owner=driver, rig_id=None, agent_uid=uuid.uuid4().hex, game="acc", track="Spa", car="GT3",
        car_class="GT3", kind="practice", track_length_m=7004.0,
    )  # fmt: skip
    untimed = lap_create(session=session, lap=_lap(2, "untimed", valid=False))
    timed = lap_create(session=session, lap=_lap(3, "game", valid=True))
    assert untimed is not None and timed is not None
    assert (untimed.time_ms, untimed.stats["timing"], untimed.stats["duration_s"]) == (None, "untimed", 92.5)
    assert timed.time_ms == 92_500 and is_green(lap_value(timed)) and not is_green(lap_value(untimed))
