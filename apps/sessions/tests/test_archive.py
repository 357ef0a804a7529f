"""Archive pages, API and exports on a stored demo session: access, content, formats."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from apps.coaching.services import lap_analyse
from apps.sessions.lib.imports import import_ld, parse_ldx
from apps.sessions.models import Lap, Session
from apps.sessions.services import lap_reference_set

from .factories import session_with_demo_laps

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(driver) -> Session:  # type: ignore[no-untyped-def]
    s = session_with_demo_laps(driver, laps=3)
    for lap in s.laps.all():
        lap_analyse(lap_id=lap.pk)
    return s


def routes(session: Session) -> list[tuple[str, str]]:
    a, b = (lap.pk for lap in session.laps.order_by("number")[:2])
    return [
        ("get", f"/sessions/{session.pk}/"),
        ("get", f"/laps/{a}/"),
        ("get", f"/laps/{a}/export.csv"),
        ("get", f"/laps/{a}/export.ld"),
        ("get", f"/laps/{a}/export.ldx"),
        ("post", f"/laps/{a}/reference/"),
        ("get", f"/compare/?laps={a},{b}"),
        ("get", f"/api/sessions/{session.pk}/"),
        ("get", f"/api/laps/{a}/"),
        ("get", f"/api/laps/{a}/channels/?channels=speed"),
        ("get", f"/api/compare/?laps={a},{b}"),
    ]


def test_it_shows_the_owner_every_route(client: Client, driver, session: Session) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    for method, url in routes(session):
        response = getattr(client, method)(url)
        assert response.status_code in (200, 302), (url, response.status_code)


def test_it_answers_404_to_another_user_on_every_route(client: Client, stranger, session: Session) -> None:  # type: ignore[no-untyped-def]
    client.force_login(stranger)
    for method, url in routes(session):
        assert getattr(client, method)(url).status_code == 404, url
    # One of the stranger's own laps does not open the driver's for comparison either.
    own = session_with_demo_laps(stranger, laps=2).laps.first()
    assert own is not None
    theirs = session.laps.first()
    assert theirs is not None
    assert client.get(f"/compare/?laps={own.pk},{theirs.pk}").status_code == 404
    assert client.get(f"/api/compare/?laps={own.pk},{theirs.pk}").status_code == 404
    assert client.get("/api/sessions/").json()["count"] == 1
    assert Lap.objects.get(pk=theirs.pk).is_reference is False


def test_it_keeps_anonymous_visitors_out(client: Client, session: Session) -> None:
    for method, url in routes(session):
        response = getattr(client, method)(url)
        assert response.status_code in (302, 401, 403), url
        if not url.startswith("/api/"):
            assert response["Location"].startswith("/accounts/login/")


def test_it_lists_and_filters_sessions(client: Client, driver, session: Session) -> None:  # type: ignore[no-untyped-def]
    token = Token.objects.create(user=driver)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    rows = api.get("/api/sessions/").json()
    assert rows["count"] == 1
    row = rows["results"][0]
    assert (row["track"], row["lap_count"], row["state"]) == ("Spa-Francorchamps", 3, "ended")
    assert row["best_lap_ms"] == min(lap.time_ms for lap in session.laps.filter(is_out_lap=False))
    assert api.get("/api/sessions/", {"kind": "race"}).json()["count"] == 0
    assert api.get("/api/sessions/", {"track": session.track_id, "game": "demo"}).json()["count"] == 1
    assert api.get("/api/sessions/", {"date_to": "2000-01-01"}).json()["count"] == 0
    assert api.get("/api/sessions/", {"kind": "nonsense"}).status_code == 400
    client.force_login(driver)
    page = client.get("/sessions/", {"kind": "practice"}).content.decode()
    assert f"/sessions/{session.pk}/" in page
    assert f"/sessions/{session.pk}/" not in client.get("/sessions/", {"kind": "race"}).content.decode()


def test_it_summarises_the_session(client: Client, driver, session: Session) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    data = client.get(f"/api/sessions/{session.pk}/").json()
    laps = data["laps"]
    assert [lap["number"] for lap in laps] == [1, 2, 3] and laps[0]["out_lap"]
    green = [lap["time_ms"] for lap in laps if not lap["out_lap"]]
    assert data["best_lap_ms"] == min(green)
    assert data["theoretical_best_ms"] == sum(data["best_sectors_ms"]) <= data["best_lap_ms"] + 3
    # sample standard deviation (n - 1), the one rule of apps.sessions.lib.stats
    assert data["consistency_ms"] == pytest.approx(np.std(green, ddof=1), abs=0.5)
    html = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "sector-best" in html and 'name="laps"' in html and "Theoretical best" in html


def test_it_serves_channels_by_distance_within_the_point_budget(
    client: Client, driver, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    lap = session.laps.get(number=2)
    data = client.get(f"/api/laps/{lap.pk}/channels/", {"channels": "speed,throttle", "points": 500}).json()
    ch = data["channels"]
    assert set(ch) == {"lap_dist", "t", "speed", "throttle"}
    assert len(ch["lap_dist"]) <= 500 and len(ch["speed"]) == len(ch["lap_dist"])
    assert ch["lap_dist"][0] == 0 and ch["lap_dist"][-1] == pytest.approx(data["length_m"], abs=1)
    assert ch["t"][-1] == pytest.approx(lap.time_ms / 1000, abs=0.05)
    assert data["units"]["speed"] == "km/h"
    bad = client.get(f"/api/laps/{lap.pk}/channels/", {"channels": "speed,warp_drive"})
    assert bad.status_code == 400 and "warp_drive" in str(bad.json())
    assert client.get(f"/api/laps/{lap.pk}/channels/", {"points": 5}).status_code == 400
    detail = client.get(f"/api/laps/{lap.pk}/").json()
    assert "La Source" in [c["name"] for c in detail["analysis"]["corners"]]


def test_it_exports_csv_with_acc_names_and_units_in_the_header(
    client: Client, driver, session: Session
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    lap = session.laps.get(number=2)
    response = client.get(f"/laps/{lap.pk}/export.csv")
    assert response.streaming
    assert 'filename="spa-francorchamps-mercedes-amg-gt3-lap-2.csv"' in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode().splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["TIME [s]", "LAP", "lap_dist [m]"]
    # ACC's names where ACC logs the channel (MoTeC users' maths), ours elsewhere ...
    # ... in the user's units (none chosen, no browser: km/h, bar, °C), the .ld's elsewhere
    assert {"SPEED [km/h]", "THROTTLE [%]", "GEAR", "tyre_temp_fl [°C]", "TYRE_PRESS_LF [bar]"} <= set(header)
    assert not {"speed [km/h]", "throttle", "gear"} & set(header)
    first = dict(zip(header, lines[1].split(","), strict=True))
    last = dict(zip(header, lines[-1].split(","), strict=True))
    # Within a millisecond: InfluxDB keeps time to the millisecond.
    assert float(first["TIME [s]"]) == pytest.approx(0, abs=1e-3) and float(
        last["TIME [s]"]
    ) == pytest.approx(lap.t_end - lap.t_start, abs=1e-3)
    assert first["GEAR"].isdigit() and first["LAP"] == "2"
    assert 0 <= max(float(r.split(",")[header.index("THROTTLE [%]")]) for r in lines[1:]) <= 100
    assert max(float(r.split(",")[header.index("THROTTLE [%]")]) for r in lines[1:]) > 1  # %, not 0..1
    assert len(lines) - 1 == pytest.approx((lap.t_end - lap.t_start) * 60, abs=2)


def test_it_exports_an_ld_that_our_importer_reads_back(client: Client, driver, session: Session) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    lap = session.laps.get(number=2)
    ld = client.get(f"/laps/{lap.pk}/export.ld")
    ldx = client.get(f"/laps/{lap.pk}/export.ldx")
    assert ld["Content-Disposition"].endswith('lap-2.ld"')
    back = import_ld(io.BytesIO(ld.content), ldx=ldx.content)
    assert (back.track, back.car) == ("Spa-Francorchamps", "Mercedes-AMG GT3")
    assert parse_ldx(ldx.content).beacons_s[-1] == pytest.approx(lap.time_ms / 1000, abs=1e-3)
    assert len(back.laps) >= 1 and back.laps[0].time_s == pytest.approx(lap.time_ms / 1000, abs=0.02)
    csv_speed = client.get(f"/api/laps/{lap.pk}/channels/", {"channels": "speed", "points": 200}).json()
    assert float(np.max(back.channels["speed"])) == pytest.approx(
        max(csv_speed["channels"]["speed"]), abs=1.0
    )
    assert {"throttle", "brake", "gear", "lap_dist", "tyre_temp_fl"} <= set(back.channels)


def test_it_keeps_one_reference_lap_per_track_and_car(client: Client, driver, session: Session) -> None:  # type: ignore[no-untyped-def]
    second = session_with_demo_laps(driver, laps=2, start_t=1.8e9)
    a = session.laps.get(number=2)
    b = second.laps.get(number=2)
    lap_reference_set(lap=a)
    lap_reference_set(lap=b)
    assert list(Lap.objects.filter(is_reference=True)) == [b]
    client.force_login(driver)
    assert client.post(f"/laps/{b.pk}/reference/").status_code == 302  # toggles it off
    assert not Lap.objects.filter(is_reference=True).exists()
    assert client.get(f"/laps/{b.pk}/reference/").status_code == 405
