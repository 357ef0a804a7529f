"""An imported lap as the reference of the live delta (live_coach_for_session)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from apps.coaching.services import live_coach_for_session
from apps.sessions.services import lap_reference_set
from apps.sessions.services_import import session_import
from apps.sessions.tests.import_cases import CASES

pytestmark = [pytest.mark.django_db, pytest.mark.fixtures, pytest.mark.usefixtures("isolated_trace_store")]


@pytest.fixture
def lime_rock(driver, fixtures_dir: Path):  # type: ignore[no-untyped-def]
    path = fixtures_dir / CASES["lime_rock"].path
    with path.open("rb") as f:
        return session_import(owner=driver, fileobj=f, filename=path.name).session


def _green(session):  # type: ignore[no-untyped-def]
    return list(session.laps.filter(valid=True, is_out_lap=False, time_ms__isnull=False).order_by("time_ms"))


def test_it_measures_the_delta_against_the_reference_lap_not_the_session_best(lime_rock) -> None:
    green = _green(lime_rock)
    assert live_coach_for_session(session_id=lime_rock.pk).state.best_lap_s == green[0].time_ms / 1000
    slower = green[-1]
    lap_reference_set(lap=slower, is_reference=True)
    coach = live_coach_for_session(session_id=lime_rock.pk)
    assert coach.state.best_lap_s == slower.time_ms / 1000 and coach.state.ref_pinned
    assert coach.state.ref_dist is not None and coach.state.ref_dist[-1] > 2000  # metres of lap
    # a faster lap of the session does not take the reference over
    trace = {"t": np.linspace(0, 50, 100), "lap_dist": np.linspace(0, 2300, 100)}
    coach.lap_completed(
        lap_number=99, time_s=50.0, valid=True, fuel_used_l=None, in_or_out=False, trace=trace
    )
    assert coach.state.best_lap_s == slower.time_ms / 1000


def test_it_uses_a_reference_from_another_session_of_the_same_track_and_car(lime_rock, driver) -> None:
    from apps.sessions.services import session_open

    reference = _green(lime_rock)[0]
    lap_reference_set(lap=reference, is_reference=True)
    live = session_open(
        owner=driver,
        rig_id=None,
        agent_uid="rig-1",
        game="ac",
        track=lime_rock.track.name,
        car=lime_rock.car.name,
    )
    assert live_coach_for_session(session_id=live.pk).state.best_lap_s == reference.time_ms / 1000
    other_car = session_open(
        owner=driver, rig_id=None, agent_uid="rig-2", game="ac", track=lime_rock.track.name, car="ks_audi_r8"
    )
    assert live_coach_for_session(session_id=other_car.pk).state.best_lap_s is None
