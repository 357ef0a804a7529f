"""Child processes that cannot outlive the process that started them (the demo command).

Three ways a parent goes away, three guards:
- Ctrl-C, SIGTERM, SIGHUP (a closed terminal): `stop_signals()` turns each into `StopRequested`
  so the caller's `finally` runs `stop_children()`.
- The parent dies without running Python code (SIGKILL, OOM killer, a segfault): on Linux each
  child asks the kernel for SIGTERM when its parent dies (`PR_SET_PDEATHSIG`).
- Grandchildren: each child leads its own process group and is stopped with `killpg`, so
  whatever it started goes down with it. Its own group also keeps a terminal's Ctrl-C away
  from the children: only the parent gets it, and it stops them in order.

POSIX only (process groups, SIGHUP), like the demo's Makefile; the guard against SIGKILL is Linux's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequested(Exception):
    """A stop signal arrived; carries its number so the caller can say which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _die_with(parent_pid: int) -> Callable[[], None]:
    """The child's pre-exec step: SIGTERM me when my parent dies (Linux; elsewhere a no-op)."""
    libc_name = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
    # Loaded before the fork: only async-signal-safe calls may run between fork and exec.
    libc = ctypes.CDLL(libc_name, use_errno=True) if libc_name else None

    def preexec() -> None:
        if libc is None:
            return
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            os._exit(126)  # never run unguarded: an orphan would hold the demo's port
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(0)

    return preexec


def spawn(cmd: Sequence[str], **popen: Any) -> subprocess.Popen[bytes]:
    """Start `cmd` in its own process group, tied to this process's life."""
    return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
        list(cmd), process_group=0, preexec_fn=_die_with(os.getpid()), **popen
    )


def stop_children(procs: Sequence[subprocess.Popen[bytes]], grace_s: float = 5.0) -> None:
    """SIGINT every child's group (newest first), then SIGKILL what is still there after grace_s."""
    for p in reversed(procs):
        _signal_group(p, signal.SIGINT)
    deadline = time.monotonic() + grace_s
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for p in procs:
        _signal_group(p, signal.SIGKILL)  # also reaps grandchildren of a child that already left
        p.wait()


def _signal_group(p: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(p.pid, sig)  # the child leads its group: pgid == pid
    except ProcessLookupError:
        pass  # the group is empty: nothing left to stop


@contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM/SIGHUP raise StopRequested (restored on exit)."""

    def raise_stop(signum: int, _frame: FrameType | None) -> None:
        ignore_stop_signals()  # once: a second Ctrl-C must not cut the shutdown short
        raise StopRequested(signum)

    previous = {sig: signal.signal(sig, raise_stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def ignore_stop_signals() -> None:
    """From here on (until `stop_signals` exits) stop signals are ignored: call it before
    `stop_children`, so a Ctrl-C during the shutdown cannot interrupt it."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
