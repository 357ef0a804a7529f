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


@pytest.fixture
def embedded_jobs(settings: Any) -> Iterator[None]:
    """The embedded default: tasks run on this process's jobs thread instead of a broker."""
    from django.db import connections

    from simcoach_site import jobs

    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    jobs.wait_idle(timeout=60)
    # The jobs thread keeps its own connection (CONN_MAX_AGE on Postgres); close it so the
    # test database can be dropped at the end of the run.
    jobs._pool().submit(connections.close_all).result(timeout=30)
