"""Fixtures for the sessions app's tests."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # Rolled-back tests reuse lap ids and the demo car's fixed start times, so a resampled
    # lap cached by one test could otherwise be served to the next.
    cache.clear()
