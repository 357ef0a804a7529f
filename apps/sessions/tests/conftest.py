"""Fixtures for the sessions app's tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.cache import cache


@pytest.fixture
def paired_home(tmp_path: Path, live_server, rig_and_token) -> Path:  # type: ignore[no-untyped-def]
    """An agent home paired with the live test server, as `simcoach-agent pair` leaves it."""
    home = tmp_path / "agent"
    home.mkdir()
    rig, token = rig_and_token
    config = {"server": live_server.url, "token": token, "rig_id": rig.pk, "rig_name": rig.name}
    (home / "config.json").write_text(json.dumps(config))
    return home


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # Rolled-back tests reuse lap ids and the demo car's fixed start times, so a resampled
    # lap cached by one test could otherwise be served to the next.
    cache.clear()


@pytest.fixture(autouse=True)
def import_upload_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Each test's uploads in a directory of its own, so a test can see that none is left."""
    path = tmp_path / "imports"
    if request.config.pluginmanager.hasplugin("django"):
        request.getfixturevalue("settings").IMPORT_UPLOAD_DIR = path
    return path


@pytest.fixture
def imports_run_here(settings) -> None:  # type: ignore[no-untyped-def]
    """The import task runs in this process (inline once the request commits) even when the
    full-stack pass configures a broker that no worker of the test consumes."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
