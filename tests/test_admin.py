"""Every model of ours is in the Django admin, and its list page renders."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client

pytestmark = pytest.mark.django_db
OUR_APPS = ("traces", "accounts", "racing_sessions", "sharing", "coaching", "teams")


def our_models() -> list[type]:
    return [m for label in OUR_APPS for m in apps.get_app_config(label).get_models()]


def test_every_app_of_ours_is_checked() -> None:
    ours = {c.label for c in apps.get_app_configs() if c.name.startswith("apps.") and list(c.get_models())}
    assert ours == set(OUR_APPS)


def test_it_registers_every_model() -> None:
    missing = [m.__name__ for m in our_models() if not admin.site.is_registered(m)]
    assert not missing, f"models without an admin: {missing}"


def test_it_renders_every_changelist(django_user_model) -> None:
    boss = django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-pass-1")
    client = Client()
    client.force_login(boss)
    for model in our_models():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/admin/telemetry/tracechunk/", "/admin/traces/tracechunk/"),
        (
            "/admin/accounts/sharelink/3/change/?_changelist_filters=kind",
            "/admin/sharing/sharelink/3/change/?_changelist_filters=kind",
        ),
        ("/admin/accounts/coacheddriver/", "/admin/sharing/coacheddriver/"),
        ("/admin/accounts/coachnote/add/", "/admin/sharing/coachnote/add/"),
    ],
)
def test_the_admin_pages_of_moved_models_keep_their_old_addresses(old: str, new: str) -> None:
    resp = Client().get(old)
    assert (resp.status_code, resp["Location"]) == (301, new)


def test_the_admin_pages_of_models_that_stayed_are_not_redirected() -> None:
    assert Client().get("/admin/accounts/rig/").status_code == 302  # to the admin login
    assert "/login/" in Client().get("/admin/accounts/rig/")["Location"]
