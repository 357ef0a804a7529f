"""Whose units a share link's viewer reads: their own when logged in, else the driver's."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.services import unit_preference_set
from apps.accounts.tests.test_units_page import _page_units
from apps.sharing.services import share_link_create
from simcoach_site.lib.units import IMPERIAL, METRIC

pytestmark = pytest.mark.django_db


def test_a_share_viewer_reads_their_own_units_else_the_owners(
    client: Client, driver, stranger, rig_and_token
) -> None:  # type: ignore[no-untyped-def]
    rig, _ = rig_and_token
    _, token = share_link_create(owner=driver, rig=rig, expires_in=None)
    unit_preference_set(user=driver, units=IMPERIAL)
    # logged out: the driver's units, not the viewer's browser's
    page = client.get(f"/s/{token}/", HTTP_ACCEPT_LANGUAGE="de-DE").content.decode()
    assert _page_units(page) == IMPERIAL.as_dict()
    assert '<small data-unit="speed">mph</small>' in page
    # logged in: the viewer's own
    unit_preference_set(user=stranger, units=METRIC)
    client.force_login(stranger)
    page = client.get(f"/s/{token}/").content.decode()
    assert _page_units(page) == METRIC.as_dict()
    assert '<small data-unit="speed">km/h</small>' in page
