"""Project-wide fixtures: named personas and the settings every test run shares."""

from __future__ import annotations

import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def _fast_passwords(settings: settings) -> None:  # type: ignore[valid-type]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def driver(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("driver", "driver@example.com", "driver-pass-1")


@pytest.fixture
def coach(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("coach", "coach@example.com", "coach-pass-1")


@pytest.fixture
def stranger(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("stranger", "stranger@example.com", "stranger-pass-1")


@pytest.fixture
def rig_and_token(driver):  # type: ignore[no-untyped-def]
    from apps.accounts.services import rig_create

    return rig_create(owner=driver, name="Sim rig")
