"""Fixtures for the report tests: a scripted OpenAI-compatible server and ready-made facts.

Only stdlib and pytest at import time: the pure tests under lib/ also run without Django.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .fake_openai import FakeOpenAI, start


@pytest.fixture
def openai_server(settings: Any) -> Iterator[FakeOpenAI]:
    """The fake server, with settings pointing the real client at it."""
    fake = FakeOpenAI()
    server = start(fake)
    settings.OPENAI_API_KEY = "sk-test-key"
    settings.OPENAI_BASE_URL = fake.url
    settings.OPENAI_MODEL = "gpt-4o-mini"
    settings.OPENAI_TIMEOUT_S = 5.0
    settings.REPORT_RETRY_BASE_S = 0.0
    yield fake
    fake.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_openai_key(settings: Any) -> None:
    settings.OPENAI_API_KEY = ""
