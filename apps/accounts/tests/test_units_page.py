"""The units page (/accounts/units/): the locale's guess before a choice, saving, refusing
bad input, and the units every page then carries for its JS."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from apps.accounts.models import UnitPreference
from apps.accounts.selectors import units_for_user
from apps.accounts.services import unit_preference_set
from simcoach_site.lib.units import IMPERIAL, METRIC, Units

pytestmark = pytest.mark.django_db


def _page_units(html: str) -> dict[str, str]:
    """The JSON script tag every page carries for static/js/units.js."""
    match = re.search(r'<script id="units" type="application/json">(.*?)</script>', html)
    assert match, "no units JSON on the page"
    return json.loads(match.group(1))


def test_it_offers_the_browsers_guess_until_the_user_saves(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    page = client.get("/accounts/units/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.8").content.decode()
    assert 'data-w="units-guess"' in page
    assert '<option value="mph" selected>' in page and '<option value="psi" selected>' in page
    assert not UnitPreference.objects.filter(user=driver).exists()  # a guess is not stored


def test_it_saves_a_choice_that_every_page_then_uses(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    response = client.post("/accounts/units/", {"speed": "mph", "pressure": "bar", "temperature": "°C"})
    assert response.status_code == 302
    assert units_for_user(user=driver) == Units(speed="mph", pressure="bar", temperature="°C")
    page = client.get("/sessions/", HTTP_ACCEPT_LANGUAGE="de-DE").content.decode()
    assert _page_units(page) == {"speed": "mph", "pressure": "bar", "temperature": "°C"}
    assert 'data-w="units-guess"' not in client.get("/accounts/units/").content.decode()


@pytest.mark.parametrize(
    "post",
    [
        {"speed": "knots", "pressure": "bar", "temperature": "°C"},
        {"speed": "mph", "pressure": "atm", "temperature": "°C"},
        {"speed": "mph", "pressure": "bar", "temperature": "K"},
        {"speed": "mph"},
    ],
)
def test_it_refuses_a_unit_it_does_not_know(client: Client, driver, post: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    client.force_login(driver)
    response = client.post("/accounts/units/", post)
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode() or "required" in response.content.decode()
    assert not UnitPreference.objects.filter(user=driver).exists()


def test_it_needs_a_login(client: Client) -> None:
    response = client.get("/accounts/units/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_saving_twice_keeps_one_row(driver) -> None:  # type: ignore[no-untyped-def]
    unit_preference_set(user=driver, units=IMPERIAL)
    unit_preference_set(user=driver, units=METRIC)
    assert UnitPreference.objects.filter(user=driver).count() == 1
    assert units_for_user(user=driver) == METRIC
