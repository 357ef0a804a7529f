"""simcoach_site.events: group names and the typed hooks lower apps use to reach higher ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simcoach_site import events
from simcoach_site.events import Hook, LapStored


def test_a_hook_calls_every_receiver_with_the_event_in_connect_order() -> None:
    hook: Hook[LapStored] = Hook("test")
    heard: list[tuple[str, LapStored]] = []

    def first(event: LapStored) -> None:
        heard.append(("first", event))

    def second(event: LapStored) -> None:
        heard.append(("second", event))

    hook.connect(first)
    hook.connect(second)
    hook.send(LapStored(lap_id=7, session_id=3))
    assert heard == [("first", LapStored(7, 3)), ("second", LapStored(7, 3))]


def test_a_receiver_connected_twice_hears_once() -> None:
    # AppConfig.ready() can run more than once in one process (tests, reloads).
    hook: Hook[LapStored] = Hook("test")
    heard: list[int] = []

    def receiver(event: LapStored) -> None:
        heard.append(event.lap_id)

    hook.connect(receiver)
    hook.connect(receiver)
    hook.send(LapStored(lap_id=1, session_id=1))
    assert heard == [1]


def test_a_receiver_that_fails_fails_the_sender() -> None:
    # Sent inside the sender's transaction: a lost analysis must not pass silently.
    hook: Hook[LapStored] = Hook("test")

    def broken(event: LapStored) -> None:
        raise RuntimeError("no broker")

    hook.connect(broken)
    with pytest.raises(RuntimeError, match="no broker"):
        hook.send(LapStored(lap_id=1, session_id=1))


@pytest.fixture
def no_report_app() -> Iterator[None]:
    saved = list(events._ready_reports)
    events._ready_reports.clear()
    yield
    events._ready_reports[:] = saved


def test_ready_reports_is_none_while_no_app_writes_reports(no_report_app: None) -> None:
    assert events.ready_reports([1, 2]) is None
    events.ready_reports_provide(lambda ids: {i for i in ids if i % 2})
    assert events.ready_reports(iter([1, 2, 3])) == {1, 3}


def test_group_names_are_ascii_and_short() -> None:
    names = [events.session_group(2**63), events.rig_group(1), events.user_group(1), events.share_group(1)]
    assert names[1:] == ["rig.1", "user.1", "share.1"]
    assert all(n.isascii() and len(n) < 100 for n in names)
