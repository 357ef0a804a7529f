"""The same lap in psi and in bar, in km/h and in mph: on the lap and session pages, in the
API and in the CSV and Parquet exports (issue 20). Values are stored in km/h, kPa and °C;
each reader sees them in the units they chose on /accounts/units/."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pyarrow.parquet as pq
import pytest
from django.test import Client

from apps.accounts.services import unit_preference_set
from apps.coaching.services import lap_analyse
from apps.sessions.models import Lap
from apps.sessions.tests.factories import session_with_demo_laps
from simcoach_agent.channels import PSI_TO_KPA
from simcoach_site.lib.units import Units

pytestmark = pytest.mark.django_db

PSI_MPH = Units(speed="mph", pressure="psi", temperature="°F")
BAR_KMH = Units(speed="km/h", pressure="bar", temperature="°C")


@pytest.fixture
def lap(driver) -> Lap:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=2)
    lap = session.laps.get(number=2)
    lap_analyse(lap_id=lap.pk)
    lap.refresh_from_db()
    assert lap.stats["tyre_press_fl_avg"] and lap.stats["max_speed_kmh"]  # the demo car has both
    return lap


def _cells(html: str, marker: str) -> list[str]:
    body = html.split(f'data-w="{marker}"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<td>([^<]*)</td>", body)


def test_the_lap_page_shows_the_same_lap_in_psi_mph_and_in_bar_kmh(client: Client, driver, lap: Lap) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    kpa, kmh, temp_c = (
        lap.stats["tyre_press_fl_avg"],
        lap.stats["max_speed_kmh"],
        lap.stats["tyre_temp_fl_avg"],
    )

    unit_preference_set(user=driver, units=PSI_MPH)
    page = client.get(f"/laps/{lap.pk}/").content.decode()
    assert f"{kmh / 1.609344:.0f} mph" in page
    fl = _cells(page, "wheels")[:4]
    assert fl[0] == "FL" and fl[2] == f"{kpa / PSI_TO_KPA:.1f}" and fl[1] == f"{temp_c * 9 / 5 + 32:.0f}"
    assert "Pressure psi" in page and "Tyre °F" in page
    assert '"pressure": "psi"' in page  # the JSON the charts' JS converts with

    unit_preference_set(user=driver, units=BAR_KMH)
    page = client.get(f"/laps/{lap.pk}/").content.decode()
    assert f"{kmh:.0f} km/h" in page
    fl = _cells(page, "wheels")[:4]
    assert fl[2] == f"{kpa / 100:.2f}" and fl[1] == f"{temp_c:.0f}"
    assert "Pressure bar" in page and "Tyre °C" in page
    assert '"pressure": "bar"' in page


def test_the_session_page_shows_tyre_temperatures_in_the_chosen_unit(
    client: Client, driver, lap: Lap
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    unit_preference_set(user=driver, units=PSI_MPH)
    assert "Tyres °F (FL FR RL RR)" in client.get(f"/sessions/{lap.session_id}/").content.decode()
    unit_preference_set(user=driver, units=BAR_KMH)
    assert "Tyres °C (FL FR RL RR)" in client.get(f"/sessions/{lap.session_id}/").content.decode()


def test_the_api_keeps_stored_units_and_names_the_users(client: Client, driver, lap: Lap) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    url = f"/api/laps/{lap.pk}/channels/?channels=speed,tyre_press_fl&points=50"
    unit_preference_set(user=driver, units=PSI_MPH)
    psi = client.get(url).json()
    unit_preference_set(user=driver, units=BAR_KMH)
    bar = client.get(url).json()
    # one contract for every client (docs/api.md): values in the channel model's units ...
    assert psi["channels"] == bar["channels"]
    assert psi["units"]["speed"] == "km/h" and psi["units"]["tyre_press_fl"] == "kPa"
    # ... and what this user reads them in
    assert psi["display_units"] == {"speed": "mph", "pressure": "psi", "temperature": "°F"}
    assert bar["display_units"] == {"speed": "km/h", "pressure": "bar", "temperature": "°C"}
    assert client.get(f"/api/laps/{lap.pk}/").json()["display_units"]["pressure"] == "bar"
    assert client.get(f"/api/sessions/{lap.session_id}/").json()["display_units"]["speed"] == "km/h"


def _csv(client: Client, url: str) -> tuple[list[str], np.ndarray]:
    response = client.get(url)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header = rows[0]
    return header, np.array([[float(c) if c else np.nan for c in r] for r in rows[1:]])


def test_the_csv_and_parquet_exports_are_in_the_chosen_units(client: Client, driver, lap: Lap) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    for path in (f"/laps/{lap.pk}/export.csv", f"/api/laps/{lap.pk}/export.csv"):
        unit_preference_set(user=driver, units=PSI_MPH)
        h_psi, psi = _csv(client, path)
        unit_preference_set(user=driver, units=BAR_KMH)
        h_bar, bar = _csv(client, path)
        assert {"SPEED [mph]", "TYRE_PRESS_LF [psi]", "tyre_temp_fl [°F]", "BRAKE_TEMP_LF [°F]"} <= set(h_psi)
        assert {"SPEED [km/h]", "TYRE_PRESS_LF [bar]", "tyre_temp_fl [°C]", "BRAKE_TEMP_LF [°C]"} <= set(
            h_bar
        )
        assert "THROTTLE [%]" in h_psi and "THROTTLE [%]" in h_bar  # not a unit anyone chooses
        column = lambda table, header, name: table[:, header.index(name)]  # noqa: E731
        assert np.allclose(
            column(psi, h_psi, "TYRE_PRESS_LF [psi]") * PSI_TO_KPA,
            column(bar, h_bar, "TYRE_PRESS_LF [bar]") * 100,
        )
        assert np.allclose(column(psi, h_psi, "SPEED [mph]") * 1.609344, column(bar, h_bar, "SPEED [km/h]"))
        assert np.allclose(
            (column(psi, h_psi, "tyre_temp_fl [°F]") - 32) * 5 / 9, column(bar, h_bar, "tyre_temp_fl [°C]")
        )
    unit_preference_set(user=driver, units=PSI_MPH)
    table = pq.read_table(io.BytesIO(client.get(f"/laps/{lap.pk}/export.parquet").content))
    assert table.schema.field("TYRE_PRESS_LF").metadata[b"unit"] == b"psi"
    assert table.schema.field("SPEED").metadata[b"unit"] == b"mph"


def test_the_motec_ld_keeps_accs_units_whatever_the_user_reads(client: Client, driver, lap: Lap) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    unit_preference_set(user=driver, units=BAR_KMH)
    bar = client.get(f"/laps/{lap.pk}/export.ld").content
    unit_preference_set(user=driver, units=PSI_MPH)
    psi = client.get(f"/laps/{lap.pk}/export.ld").content
    assert bar == psi and b"psi" in psi and b"m/s" in psi  # i2's ACC layouts expect these


def test_without_a_choice_the_browser_locale_decides(client: Client, driver, lap: Lap) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    us = client.get(f"/laps/{lap.pk}/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "Pressure psi" in us and "mph" in us
    gb = client.get(f"/laps/{lap.pk}/", HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert "Pressure bar" in gb and "km/h" in gb
    # a saved choice beats the locale
    unit_preference_set(user=driver, units=BAR_KMH)
    assert "Pressure bar" in client.get(f"/laps/{lap.pk}/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()


def test_the_compare_page_gives_corner_speeds_in_the_chosen_unit(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(
        driver, laps=3, noise=False, per_lap={3: {"corner_speed_delta_kmh": {"Pouhon": -12}}}
    )
    a, b = session.laps.get(number=2), session.laps.get(number=3)
    client.force_login(driver)
    url = f"/compare/?laps={a.pk},{b.pk}&ref={a.pk}"

    def pouhon(page: str) -> list[str]:
        row = page.split('data-corner="Pouhon"', 1)[1].split("</tr>", 1)[0]
        return re.findall(r"<td[^>]*>([^<]*)</td>", row)

    unit_preference_set(user=driver, units=BAR_KMH)
    kmh_page = client.get(url).content.decode()
    unit_preference_set(user=driver, units=PSI_MPH)
    mph_page = client.get(url).content.decode()
    assert "Speeds in km/h" in kmh_page and "Speeds in mph" in mph_page
    kmh, mph = pouhon(kmh_page), pouhon(mph_page)
    # Corner, brake ref, brake, Δ brake, then min ref, min, exit ref, exit speeds
    for i in (4, 5, 6, 7):
        assert float(mph[i]) == pytest.approx(float(kmh[i]) / 1.609344, abs=0.06), (kmh, mph)
