"""What apps tell each other: channel-layer events and group names, and in-process hooks.

Two kinds, both typed here so no app needs another to know a payload's shape:

- Channel-layer events go to sockets (any server process), only once the database
  transaction that caused them commits. Every group name is built by a function here.
- Hooks carry a fact from a lower app to a higher one inside this process (a lap was
  stored, a session ended) or let a higher app answer a lower one's question (which
  sessions have a ready report). The apps import one way only (README, "Architecture"):
  sessions must not import coaching, so coaching connects to sessions' hooks at startup
  (`CoachingConfig.ready`) instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, NotRequired, TypedDict, TypeVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

# -- group names ---------------------------------------------------------------------------


def session_group(session_id: int) -> str:
    """The group of everyone watching a session live (its viewers, on any server process)."""
    return f"session.{session_id}"


def rig_group(rig_id: int) -> str:
    """The group of a rig's socket and of those following the rig (share links, coaches)."""
    return f"rig.{rig_id}"


def user_group(user_id: int) -> str:
    """The group of a driver's "follow my latest session" viewers."""
    return f"user.{user_id}"


def share_group(share_id: int) -> str:
    """The group of every socket opened through one share link (closed when it is revoked)."""
    return f"share.{share_id}"


def team_group(team_id: int) -> str:
    """The group of every socket opened through a team's grant (a coach watching a team
    driver): told whenever what the team may see changes, to check its access again."""
    return f"team.{team_id}"


# -- channel-layer events ------------------------------------------------------------------


class SessionStarted(TypedDict):
    type: Literal["session.started"]
    session_id: int


class SessionEnded(TypedDict):
    type: Literal["session.ended"]
    session_id: int


class RigRevoked(TypedDict):
    type: Literal["rig.revoked"]
    rig_id: int


class ShareRevoked(TypedDict):
    type: Literal["share.revoked"]
    share_id: int


class AccessChanged(TypedDict):
    """Someone left or was removed, a role or a share changed, or the team was deleted."""

    type: Literal["access.changed"]
    team_id: int


class CoachingNote(TypedDict, total=False):
    type: Literal["coaching.note"]
    author: str
    text: str
    session_id: int  # to the session's viewers: which session's page shows it
    rig_id: int  # to the rig's socket


class CueDeliver(TypedDict):
    """To a rig's socket: send this cue (apps.coaching.selectors_cues.cue_wire) to the agent."""

    type: Literal["cue.deliver"]
    session_id: int
    cue: dict[str, object]


class CueWithdraw(TypedDict):
    type: Literal["cue.withdraw"]
    session_id: int
    cue_id: int


class CueChanged(TypedDict):
    """To a session's viewers: a cue was pinned, removed, delivered or spoken (`spoken`: the
    agent just said it, so the page shows it now)."""

    type: Literal["cue.changed"]
    session_id: int
    cue: dict[str, object]  # apps.coaching.selectors_cues.cue_dict
    spoken: bool


LayerEvent = (
    SessionStarted
    | SessionEnded
    | RigRevoked
    | ShareRevoked
    | AccessChanged
    | CoachingNote
    | CueDeliver
    | CueWithdraw
    | CueChanged
)

# The live stream of a session, sent by the rig's consumer straight to the layer rather than
# through broadcast_on_commit: viewers see frames before the store has them. Annotated dict
# literals at the send sites, not TypedDict calls: the types cost nothing per frame.


class LiveFrame(TypedDict):
    type: Literal["live.frame"]
    text: str  # the viewers' JSON, encoded once for all of them (apps.telemetry.lib.live)
    origin: str  # the sending event loop's fan-out: its own viewers already have the frame


class LiveLap(TypedDict):
    type: Literal["live.lap"]
    lap: dict[str, object]  # apps.sessions.selectors.lap_dict


class CoachingMessage(TypedDict):
    rule: str
    severity: str
    text: str  # as the agent reads it (stored units)
    data: Mapping[str, object]  # the message's numbers in stored units: each viewer words it in theirs
    # spoken, or why not: repeat, budget, late (apps/coaching/lib/discipline.py); absent: spoken
    status: NotRequired[str]


class LiveCoaching(TypedDict):
    type: Literal["live.coaching"]
    message: CoachingMessage
    counts: NotRequired[Mapping[str, object]]  # the session's coaching counters after it


def broadcast(group: str, event: LayerEvent) -> None:
    if settings.DEBUG:
        # Events cross process boundaries in production: prove they survive JSON.
        event = json.loads(json.dumps(event))
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, event)


def broadcast_on_commit(group: str, event: LayerEvent) -> None:
    transaction.on_commit(lambda: broadcast(group, event))


# -- in-process hooks ----------------------------------------------------------------------

E = TypeVar("E")


class Hook(Generic[E]):
    """A typed signal: every connected receiver is called with the event, in connect order.

    Sent inside the sender's transaction, like the code it replaces; receivers that start
    work elsewhere (a Celery task) defer it to the commit themselves (`jobs.enqueue`).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: dict[str, Callable[[E], None]] = {}

    def connect(self, receiver: Callable[[E], None]) -> None:
        # Keyed by name: connecting again (ready() run twice) replaces rather than doubles.
        self._receivers[f"{receiver.__module__}.{receiver.__qualname__}"] = receiver

    def send(self, event: E) -> None:
        for receiver in list(self._receivers.values()):
            receiver(event)


@dataclass(frozen=True)
class LapStored:
    """A completed lap was stored (live or imported)."""

    lap_id: int
    session_id: int


@dataclass(frozen=True)
class SessionClosed:
    """A live session ended (the rig said so, or it fell silent)."""

    session_id: int


lap_stored: Hook[LapStored] = Hook("lap_stored")
session_closed: Hook[SessionClosed] = Hook("session_closed")

ReadyReports = Callable[[list[int]], set[int]]
_ready_reports: list[ReadyReports] = []


def ready_reports_provide(answer: ReadyReports) -> None:
    """Let the app that writes reports say which sessions have a ready one (once, at startup)."""
    _ready_reports[:] = [answer]


def ready_reports(session_ids: Iterable[int]) -> set[int] | None:
    """Ids among `session_ids` with a ready report; None when no installed app writes reports."""
    if not _ready_reports:
        return None
    return _ready_reports[0](list(session_ids))


# Sessions other people shared with a user (sharing's access decision answers): the access
# helpers of sessions ask here, so there is one access check, not one per app.
SharedSessions = Callable[[int], Any]  # user id -> a queryset of readable session ids
_shared_sessions: list[SharedSessions] = []


def shared_sessions_provide(answer: SharedSessions) -> None:
    """Let the app that shares sessions between drivers say which a user may read (at startup)."""
    _shared_sessions[:] = [answer]


def shared_sessions(user_id: int) -> Any | None:
    """A queryset of session ids shared with `user_id`; None when no installed app shares."""
    if not _shared_sessions:
        return None
    return _shared_sessions[0](user_id)


# The live delta's chosen reference lap for a driver on a track and car, when another app
# (teams: "use as live reference") stores one; coaching asks, it never imports that app.
LiveReference = Callable[[int, int, int], int | None]  # owner, track, car -> lap id
_live_reference: list[LiveReference] = []


def live_reference_provide(answer: LiveReference) -> None:
    _live_reference[:] = [answer]


def live_reference(owner_id: int, track_id: int, car_id: int) -> int | None:
    """The lap id a driver chose as live reference on this track and car, if any app stores one."""
    if not _live_reference:
        return None
    return _live_reference[0](owner_id, track_id, car_id)
