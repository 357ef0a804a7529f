"""simcoach_site.lib.children: a child never outlives its parent, its own children included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simcoach_site.lib.children import StopRequested, spawn, stop_children, stop_signals
from tests.servers import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG, /proc")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_child_dies_with_its_sigkilled_parent() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from simcoach_site.lib.children import spawn\n"
            "print(spawn(['sleep', '300']).pid, flush=True)\n"
            "time.sleep(300)\n",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    child = int(parent.stdout.readline())  # type: ignore[union-attr]
    try:
        assert alive(child)
        parent.kill()  # no Python code runs in the parent: only the kernel can stop the child
        parent.wait()
        assert gone_within([child], 10), "the child outlived its SIGKILLed parent"
    finally:
        kill_all([child])


def test_stop_children_takes_down_grandchildren_that_ignore_sigint() -> None:
    # A non-interactive shell starts `&` jobs with SIGINT ignored: only the SIGKILL step stops them.
    proc = spawn(["sh", "-c", "sleep 300 & echo $!; wait"], stdout=subprocess.PIPE)
    grandchild = int(proc.stdout.readline())  # type: ignore[union-attr]
    try:
        assert os.getpgid(grandchild) == proc.pid  # in the child's own group, not ours
        assert os.getpgid(proc.pid) != os.getpgid(0)
        stop_children([proc], grace_s=0.5)
        assert proc.returncode is not None
        assert gone_within([grandchild], 5), "a grandchild survived stop_children"
    finally:
        kill_all([grandchild])


def test_stop_signals_raise_once_then_are_ignored_until_the_block_ends() -> None:
    before = signal.getsignal(signal.SIGHUP)
    with pytest.raises(StopRequested, match="SIGHUP"), stop_signals():
        try:
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(1)  # the handler runs here
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # a second signal during the shutdown: ignored
            time.sleep(0.1)
    assert signal.getsignal(signal.SIGHUP) is before  # restored: pytest keeps its own handlers
