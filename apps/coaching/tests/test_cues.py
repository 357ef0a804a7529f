"""Pinning cues: the rules every way in shares (services_cues.py), and the owner's API."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from apps.coaching.models import Cue
from apps.coaching.services_cues import PIN_LIMIT, CueRefused, cue_pin, cue_spoken
from apps.sessions.models import Session
from apps.sessions.tests.factories import session_with_demo_laps

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_limits() -> None:
    cache.clear()


@pytest.fixture
def live(driver) -> Session:  # type: ignore[no-untyped-def]
    return session_with_demo_laps(driver, laps=0, end=False)


def pin(session: Session, **fields: Any) -> Cue:
    return cue_pin(session=session, author="driver", via="live", **{"at_m": 300, "text": "brake", **fields})


def test_it_pins_a_clean_cue(live: Session) -> None:
    cue = pin(live, text="  brake\tat the\n100 board ", lead_s=2.5, repeat="once", label="La Source")
    assert (cue.text, cue.lead_s, cue.repeat, cue.label, cue.owner_id) == (
        "brake at the 100 board",
        2.5,
        "once",
        "La Source",
        live.owner_id,
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"at_m": math.nan}, "must be a number"),
        ({"at_m": math.inf}, "must be a number"),
        ({"at_m": -1}, "0..7004 m"),
        ({"at_m": 7005}, "0..7004 m"),
        ({"at_m": "300"}, "must be a number"),
        ({"at_m": True}, "must be a number"),
        ({"text": ""}, "empty"),
        ({"text": " \u0000\u200b "}, "empty"),
        ({"text": "x" * 81}, "at most 80"),
        ({"text": 5}, "must be text"),
        ({"lead_s": 0.5}, "1..15 s"),
        ({"lead_s": 16}, "1..15 s"),
        ({"lead_s": math.nan}, "must be a number"),
        ({"repeat": "twice"}, "repeat must be"),
        ({"label": "x" * 41}, "at most 40"),
    ],
)
def test_it_refuses_hostile_input_with_a_reason(live: Session, fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(CueRefused, match=reason):
        pin(live, **fields)
    assert not Cue.objects.exists()


def test_it_refuses_a_session_that_is_not_live(driver) -> None:  # type: ignore[no-untyped-def]
    ended = session_with_demo_laps(driver, laps=0, end=True)
    with pytest.raises(CueRefused, match="not live"):
        pin(ended)


def test_it_limits_how_fast_one_author_pins(live: Session) -> None:
    for i in range(PIN_LIMIT):
        pin(live, at_m=100 + i)
    with pytest.raises(CueRefused, match="cues a minute"):
        pin(live)


def test_a_once_cue_retires_when_it_is_spoken_and_bad_reports_are_refused(live: Session) -> None:
    cue = pin(live, repeat="once")
    with pytest.raises(CueRefused):
        cue_spoken(cue=cue, lap=2, before_m=-5, speed_kmh=100)
    cue_spoken(cue=cue, lap=2, before_m=131.0, speed_kmh=157.0)
    cue.refresh_from_db()
    assert cue.removed_at is not None and cue.spoken_before_m == 131.0


def test_the_api_pins_lists_and_removes_the_owners_cues(live: Session, driver) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(driver)
    url = f"/api/sessions/{live.pk}/cues/"
    made = client.post(
        url, {"at_m": 2220, "text": "Les Combes: late apex", "label": "Les Combes"}, "application/json"
    )
    assert made.status_code == 201, made.content
    cue = made.json()
    assert cue["author"] == "Driver" and cue["via"] == "live" and cue["delivery_ms"] is None
    assert [c["id"] for c in client.get(url).json()["cues"]] == [cue["id"]]
    bad = client.post(url, {"at_m": 9000, "text": "beyond"}, "application/json")
    assert bad.status_code == 400 and "0..7004 m" in bad.json()["detail"]
    nan = client.post(url, '{"at_m": NaN, "text": "x"}', "application/json")
    assert nan.status_code == 400
    assert client.delete(f"{url}{cue['id']}/").status_code == 204
    assert client.get(url).json()["cues"] == []
    assert client.delete(f"{url}{cue['id']}/").status_code == 404  # removed: gone


def test_the_api_hides_another_drivers_session_and_cues(live: Session, stranger) -> None:  # type: ignore[no-untyped-def]
    cue = pin(live)
    client = Client()
    client.force_login(stranger)
    url = f"/api/sessions/{live.pk}/cues/"
    assert client.post(url, {"at_m": 100, "text": "mine now"}, "application/json").status_code == 404
    assert client.delete(f"{url}{cue.pk}/").status_code == 404
    assert Cue.objects.filter(removed_at__isnull=True).count() == 1


def test_the_api_schema_describes_the_cue_routes(client: Client) -> None:
    schema = client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/sessions/{session_id}/cues/"])
    assert "delete" in paths["/api/sessions/{session_id}/cues/{cue_id}/"]
