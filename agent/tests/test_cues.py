"""The cue board: when a pinned cue is due, once per lap, and never too late or at a standstill."""

from __future__ import annotations

import math

import pytest

from simcoach_agent.cues import Cue, CueBoard, CueError

SPEED = 180.0  # km/h: 50 m/s, so a 3 s lead is 150 m


def drive(board: CueBoard, lap: int, start: float, end: float, *, speed: float = SPEED, step: float = 5.0):
    """Feed frames from ``start`` to ``end`` metres of ``lap``; every due cue with its distance."""
    out = []
    d = start
    while d <= end:
        out += [(due.cue.id, due.lap, d, due.before_m) for due in board.update(lap, d, speed)]
        d += step
    return out


def test_it_says_a_cue_its_lead_time_before_the_point_once_per_lap() -> None:
    board = CueBoard(7000.0)
    board.put(Cue(1, 2000.0, "brake at the 100 board"))
    said = drive(board, 1, 0, 6995) + drive(board, 2, 0, 6995)
    assert [(cid, lap) for cid, lap, _, _ in said] == [(1, 1), (1, 2)]
    for _, _, at, before in said:
        assert at == 1850.0 and before == 150.0  # 3 s at 50 m/s


def test_a_once_cue_retires_after_it_is_said() -> None:
    board = CueBoard(7000.0)
    board.put(Cue(1, 2000.0, "once", repeat="once"))
    assert len(drive(board, 1, 0, 6995)) == 1
    assert board.cues() == []
    assert drive(board, 2, 0, 6995) == []


def test_a_point_just_after_the_line_is_said_before_the_line() -> None:
    board = CueBoard(7000.0)
    board.put(Cue(1, 50.0, "turn in late"))
    said = drive(board, 1, 3000, 6995) + drive(board, 2, 0, 3000)
    # said once, on lap 1's last metres, for lap 2's point; not again on lap 2 itself
    assert [(lap, at, before) for _, lap, at, before in said] == [(2, 6900.0, 150.0)]


def test_without_the_track_length_a_point_after_the_line_is_said_as_the_lap_starts() -> None:
    board = CueBoard(None)
    board.put(Cue(1, 50.0, "turn in late"))
    said = drive(board, 1, 3000, 6995) + drive(board, 2, 0, 6995) + drive(board, 3, 0, 100)
    # the line is where the board first knows the point is ahead: later than the lead, but
    # once a lap, and the distance it was said at is reported as it was
    assert [(lap, at, before) for _, lap, at, before in said] == [(2, 0, 50.0), (3, 0, 50.0)]


def test_a_cue_pinned_inside_its_lead_waits_for_the_next_lap() -> None:
    board = CueBoard(7000.0)
    board.put(Cue(1, 2000.0, "too late now"))
    assert drive(board, 1, 1950, 6995) == []  # first seen 50 m (1 s) out: too late this lap
    said = drive(board, 2, 0, 6995)
    assert [(lap, before) for _, lap, _, before in said] == [(2, 150.0)]


def test_a_point_behind_is_not_said_until_the_next_lap() -> None:
    board = CueBoard(7000.0)
    board.put(Cue(1, 1000.0, "behind"))
    assert drive(board, 1, 1500, 6995) == []
    assert len(drive(board, 2, 0, 1500)) == 1


def test_a_stationary_car_or_one_in_the_pits_hears_nothing() -> None:
    board = CueBoard(7000.0)
    board.put(Cue(1, 200.0, "go"))
    assert drive(board, 1, 0, 300, speed=0.0) == []
    assert drive(board, 1, 0, 300, speed=2.0) == []  # 0.6 m/s: crawling in the garage
    assert [board.update(1, d, 60.0, in_pit=True) for d in range(0, 300, 5)] == [[]] * 60
    # out of the pits, the next lap's pass is said as usual
    assert len(drive(board, 2, 0, 300)) == 1


def test_removed_and_cleared_cues_are_not_said() -> None:
    board = CueBoard(7000.0)
    board.put(Cue(1, 2000.0, "a"))
    board.put(Cue(2, 3000.0, "b"))
    assert board.remove(1) and not board.remove(1)
    assert [cid for cid, *_ in drive(board, 1, 0, 6995)] == [2]
    board.clear()
    assert drive(board, 2, 0, 6995) == []


def test_a_resent_cue_is_not_said_twice_on_one_lap() -> None:
    board = CueBoard(7000.0)
    cue = Cue(1, 2000.0, "a")
    board.put(cue)
    assert len(drive(board, 1, 0, 1900)) == 1
    board.put(cue)  # the server resends active cues after a reconnect
    assert drive(board, 1, 1900, 6995) == []


def test_bad_frames_are_ignored() -> None:
    board = CueBoard(7000.0)
    board.put(Cue(1, 2000.0, "a"))
    assert board.update(1, math.nan, 100.0) == []
    assert board.update(1, 1900.0, math.inf) == []


@pytest.mark.parametrize(
    ("msg", "error"),
    [
        ({"id": "1", "at_m": 10, "text": "x"}, "id"),
        ({"id": 1, "at_m": -1, "text": "x"}, "at_m"),
        ({"id": 1, "at_m": math.nan, "text": "x"}, "at_m"),
        ({"id": 1, "at_m": 10, "text": "  "}, "text"),
        ({"id": 1, "at_m": 10, "text": "x" * 81}, "text"),
        ({"id": 1, "at_m": 10, "text": "x", "lead_s": 0.5}, "lead_s"),
        ({"id": 1, "at_m": 10, "text": "x", "repeat": "twice"}, "repeat"),
    ],
)
def test_bad_cue_messages_are_refused(msg: dict, error: str) -> None:
    with pytest.raises(CueError, match=error):
        Cue.from_message({"type": "cue", **msg})


def test_a_good_cue_message_is_read() -> None:
    cue = Cue.from_message(
        {
            "type": "cue",
            "id": 7,
            "at_m": 396,
            "text": " brake ",
            "lead_s": 2,
            "repeat": "once",
            "label": "La Source",
        }
    )
    assert cue == Cue(7, 396.0, "brake", 2.0, "once", "La Source")


class FakeUplink:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send_control(self, msg: dict) -> None:
        self.sent.append(msg)


def pipeline_with_cues(as_json: bool):  # type: ignore[no-untyped-def]
    """The CLI's cue handling without a spool, a socket or a source: only what it touches."""
    import io

    from simcoach_agent.cli import Pipeline, Reporter

    pipe = object.__new__(Pipeline)
    pipe.reporter = Reporter(as_json=as_json, out=io.StringIO())
    pipe.cues, pipe.uplink, pipe.speaker, pipe.producer = CueBoard(7004.0), FakeUplink(), None, None
    return pipe


def test_the_cli_acks_a_cue_says_it_at_its_point_and_reports_it() -> None:
    pipe = pipeline_with_cues(as_json=False)
    pipe._on_cue(
        {"type": "cue", "id": 9, "at_m": 2220.0, "text": "brake at the 100 board", "label": "Les Combes"}
    )
    pipe._on_cue({"type": "cue", "id": "bad", "at_m": 1.0, "text": "x"})  # refused, not acked
    assert [m["type"] for m in pipe.uplink.sent] == ["cue_ack"] and pipe.uplink.sent[0]["id"] == 9
    for d in range(1500, 2300, 2):
        pipe._cue_frame({"lap": 2, "lap_dist": float(d), "speed": 252.0, "in_pit": 0})
    spoken = pipe.uplink.sent[1]
    assert spoken == {"type": "cue_spoken", "id": 9, "lap": 2, "before_m": 210.0, "speed_kmh": 252.0}
    assert "[CUE Les Combes in 210 m] brake at the 100 board" in pipe.reporter.out.getvalue()
    pipe._on_cue({"type": "cue_removed", "id": 9})
    pipe._on_cue({"type": "welcome", "session_id": 1})
    assert pipe.cues.cues() == []


def test_the_cli_prints_a_spoken_cue_as_json() -> None:
    import json

    pipe = pipeline_with_cues(as_json=True)
    pipe._on_cue({"type": "cue", "id": 3, "at_m": 500.0, "text": "lift", "lead_s": 2})
    for d in range(0, 600, 5):
        pipe._cue_frame({"lap": 1, "lap_dist": float(d), "speed": 180.0})
    events = [json.loads(line) for line in pipe.reporter.out.getvalue().splitlines()]
    said = [e for e in events if e["event"] == "cue_spoken"]
    assert len(said) == 1 and said[0]["before_m"] == 100.0 and said[0]["lap_dist"] == 400.0
