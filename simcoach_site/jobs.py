"""Enqueue Celery tasks after commit; without a broker run them on a background thread.

Eager Celery would run a task inside the request or the rig socket's handler and stall it;
the embedded default instead runs tasks one at a time on a worker thread of this process.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction

log = logging.getLogger(__name__)
_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_pending: set[Future[Any]] = set()


def enqueue(task: Any, *args: Any) -> None:
    """Run `task(*args)` once the current transaction commits (at once outside one)."""
    # robust: a broker that is down must not turn a committed write into an error; what fails
    # to enqueue here is picked up by the periodic sweeps (laps_analyse_missing_task).
    transaction.on_commit(lambda: _dispatch(task, args), robust=True)


def _dispatch(task: Any, args: tuple[Any, ...]) -> None:
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        task.delay(*args)
        return
    if settings.JOBS_INLINE:
        # Tests: run right here, after commit, so a task never outlives the test that caused it.
        task.apply(args=args, throw=True)
        return
    future = _pool().submit(_run_inline, task, args)
    with _lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def _run_inline(task: Any, args: tuple[Any, ...]) -> None:
    close_old_connections()
    try:
        task.apply(args=args, throw=True)
    except Exception:
        log.exception("background task %s%r failed", task.name, args)
    finally:
        close_old_connections()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="simcoach-jobs")
        return _executor


def _forget(future: Future[Any]) -> None:
    with _lock:
        _pending.discard(future)


def wait_idle(timeout: float = 30.0) -> None:
    """Block until background tasks queued so far have run (tests, shutdown)."""
    with _lock:
        futures = list(_pending)
    for f in futures:
        f.result(timeout=timeout)
