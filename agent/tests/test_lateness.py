"""Coaching that comes too late is not said: unit tests, and the real CLI against the fake server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from rigserver import RigServer
from test_cli import agent, env, rig_server  # noqa: F401 - the fixture

from simcoach_agent.cli import status_text
from simcoach_agent.lateness import Lateness, Position

NOW = Position(t=1000.0, lap=5, lap_dist=800.0)


def coaching(**fields: Any) -> dict[str, Any]:
    return {"type": "coaching", "rule": "lock_up", "severity": "warn", "text": "Front left locking", **fields}


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"t": 999.0, "lap": 5}, None),
        ({"t": 998.0}, None),  # exactly at the limit: still in time
        ({"t": 997.9}, "stale"),
        ({"t": 999.5, "lap": 5, "until_m": 900.0}, None),  # the place is still ahead
        ({"t": 999.5, "lap": 5, "until_m": 700.0}, "passed"),
        ({"t": 999.5, "lap": 4, "until_m": 5000.0}, "passed"),  # meant for the lap before
        ({"t": 999.5, "lap": 6, "until_m": 100.0}, None),  # the next lap's: ahead
        ({"until_m": 10.0}, None),  # no lap: cannot be judged
        ({}, None),  # an older server: said as before
        ({"t": "soon", "lap": None, "until_m": float("nan")}, None),
        ({"t": True}, None),
    ],
)
def test_it_tells_a_late_message(fields: dict[str, Any], why: str | None) -> None:
    assert Lateness(limit_s=2.0).why_late(coaching(**fields), NOW) == why


def test_without_a_frame_yet_everything_is_said() -> None:
    assert Lateness().why_late(coaching(t=0.0, lap=1, until_m=0.0), None) is None


def test_it_counts_what_it_holds_back() -> None:
    late = Lateness(limit_s=1.0)
    said = [
        late.admit(coaching(**f), NOW)
        for f in ({"t": 999.5}, {"t": 900.0}, {"t": 999.9, "lap": 2, "until_m": 1.0})
    ]
    assert said == [True, False, False]
    assert late.as_dict() == {"late": 2, "stale": 1, "passed": 1}


def test_a_bad_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="more than 0"):
        Lateness(limit_s=0.0)


def test_the_status_line_shows_late_coaching_only_when_there_is_some() -> None:
    fields = {
        "connection": "streaming",
        "source": "driving",
        "fps": 60.0,
        "lap": 2,
        "backlog": 0,
        "bytes_per_s": 3000,
    }
    assert "late" not in status_text({**fields, "late_coaching": 0})
    assert status_text({**fields, "late_coaching": 3}).endswith("| late coaching 3")


def test_the_cli_says_fresh_coaching_and_counts_the_late(tmp_path: Path, rig_server: RigServer) -> None:  # noqa: F811
    said: list[bool] = []

    def coach(cols: dict[str, list[float]]) -> list[dict[str, Any]]:
        # once, about the batch's newest frame: one in time, one 30 s old, one for a place passed
        if said or len(cols["t"]) == 0:
            return []
        said.append(True)
        t, lap = cols["t"][-1], int(cols["lap"][-1])
        return [
            coaching(text="fresh", t=t, lap=lap),
            coaching(text="stale", t=t - 30.0, lap=lap),
            coaching(text="passed", t=t, lap=lap - 1, until_m=100.0),
        ]

    rig_server.behaviour.coach = coach
    args = ["--json", "run", "--game", "demo", "--server", rig_server.url, "--token", "sc_rig_good"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "simcoach_agent", *args],
        env=env(tmp_path / "home"),
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60  # only stops a hung test
    lines: list[dict[str, Any]] = []
    assert proc.stdout is not None
    while not any(e["event"] == "status" and e.get("late_coaching") == 2 for e in lines):
        assert time.monotonic() < deadline, lines
        lines.append(json.loads(proc.stdout.readline()))
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert [e["text"] for e in lines if e["event"] == "coaching"] == ["fresh"]


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_bad_late_after_is_a_usage_error(tmp_path: Path, value: str) -> None:
    result = agent(tmp_path / "home", "run", "--game", "demo", "--late-after", value)
    assert result.returncode == 2
    assert "--late-after" in result.stderr and "Traceback" not in result.stderr
