"""Enqueue Celery tasks after commit; without a broker run them on a background thread.

Eager Celery would run a task inside the request or the rig socket's handler and stall it;
the embedded default instead runs tasks one at a time on a worker thread of this process.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction

log = logging.getLogger(__name__)
_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_pending: set[Future[Any]] = set()
# A send that failed (broker down) is tried again for this long, then left to the sweeps.
REPUBLISH_FOR_S = 600.0
REPUBLISH_MAX_WAIT_S = 10.0


def enqueue(task: Any, *args: Any) -> None:
    """Run `task(*args)` once the current transaction commits (at once outside one)."""
    # robust: a broker that is down must not turn a committed write into an error. A send
    # that fails is tried again in the background until the broker is back; what this process
    # never got to send (it died, or gave up) the periodic sweeps find (laps_analyse_missing_task).
    transaction.on_commit(lambda: _dispatch(task, args), robust=True)


def _dispatch(task: Any, args: tuple[Any, ...]) -> None:
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            task.delay(*args)
        except Exception as exc:  # kombu's errors differ per transport: any failure to send
            log.warning("could not send %s%r (%s); trying again in the background", task.name, args, exc)
            _submit(_republish, task, args, time.monotonic() + REPUBLISH_FOR_S)
        return
    if settings.JOBS_INLINE:
        # Tests: run right here, after commit, so a task never outlives the test that caused it.
        task.apply(args=args, throw=True)
        return
    _submit(_run_inline, task, args)


def _submit(fn: Any, *args: Any) -> None:
    future = _pool().submit(fn, *args)
    with _lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def enqueue_later(delay_s: float, task: Any, *args: Any, **options: Any) -> None:
    """Run `task(*args)` on the jobs thread in `delay_s`, without holding the thread meanwhile.

    For retries in embedded mode: a backoff slept on the one jobs thread would hold up every
    other job (a lap analysis waited 82 s behind a report's retries). A timer waits instead and
    queues the task when it is due; `options` go to `task.apply` (retries=...). `wait_idle`
    waits for it like any queued job.
    """
    due: Future[Any] = Future()
    with _lock:
        _pending.add(due)
    due.add_done_callback(_forget)

    def fire() -> None:
        try:
            job = _pool().submit(_run_inline, task, args, options)
        except RuntimeError:  # shutting down: like a process that died, the work stays undone
            # (a pending report goes stale and offers a retry)
            due.set_result(None)
            return
        job.add_done_callback(lambda _: due.set_result(None))

    timer = threading.Timer(max(0.0, delay_s), fire)
    timer.daemon = True
    timer.start()


def _run_inline(task: Any, args: tuple[Any, ...], options: dict[str, Any] | None = None) -> None:
    close_old_connections()
    try:
        task.apply(args=args, throw=True, **(options or {}))
    except Exception:
        log.exception("background task %s%r failed", task.name, args)
    finally:
        close_old_connections()


def _republish(task: Any, args: tuple[Any, ...], deadline: float) -> None:
    """Send until the broker takes it. One thread does this in order: while the first waits
    for the broker to come back the others queue behind it, then go through at once."""
    wait = 0.5
    while True:
        try:
            task.delay(*args)
            log.info("sent %s%r after the broker came back", task.name, args)
            return
        except Exception as exc:
            if time.monotonic() + wait > deadline:
                log.error("gave up sending %s%r (%s); the periodic sweep will catch it", task.name, args, exc)
                return
        time.sleep(wait)
        wait = min(wait * 2, REPUBLISH_MAX_WAIT_S)


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
    """Block until background tasks queued so far have run (tests, shutdown), and those they
    queued in turn (a retry queues the next try)."""
    deadline = time.monotonic() + timeout
    while True:
        with _lock:
            futures = list(_pending)
        if not futures:
            return
        for f in futures:
            f.result(timeout=max(0.0, deadline - time.monotonic()))
