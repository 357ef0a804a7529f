"""Real recordings imported by several drivers, and a team they share them in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from apps.sessions.models import Session
from apps.sessions.services_import import session_import
from apps.sessions.tests.import_cases import CASES


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # Rolled-back tests reuse lap ids: a resampled lap cached by one test must not serve the next.
    cache.clear()


@pytest.fixture
def import_case(fixtures_dir: Path, isolated_trace_store: Any):  # type: ignore[no-untyped-def]
    """import_case(user, "lime_rock") -> the Session that file makes for that user."""

    def run(user: Any, case: str) -> Session:
        path = fixtures_dir / CASES[case].path
        with path.open("rb") as f:
            return session_import(owner=user, fileobj=f, filename=path.name, **CASES[case].meta).session

    return run
