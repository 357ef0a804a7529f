"""WebSocket consumers: the rig's uplink and the viewers of a live session.

Both are async: the rig socket is the high-rate ingest path, and viewers receive up to
LIVE_VIEWER_HZ frames a second each, which a thread-per-message sync consumer would not keep up
with. ORM work happens only inside the services, called off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable
from typing import Any

import numpy as np
from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.http import Http404
from django.utils import timezone

from apps.accounts.selectors import rig_get_for_user, units_for_viewer
from apps.coaching.lib.discipline import Discipline, Verdict
from apps.coaching.lib.rules import LiveCoach, Message, message_text
from apps.coaching.selectors_cues import cue_dict, cue_for_agent, cue_list_for_session, cue_wire
from apps.coaching.services import live_coach_for_session, live_coach_lap_completed
from apps.coaching.services_cues import CueRefused, cue_delivered, cue_sent, cue_spoken
from apps.sessions.models import Session
from apps.sessions.selectors import (
    RigLive,
    lap_dict,
    rig_live_list,
    rig_to_follow,
    session_get_for_user,
    session_live_snapshot,
)
from apps.sharing.access import (
    Access,
    Grant,
    grant_by_coached_driver,
    grant_by_team,
    grant_by_token,
    live_session_for,
    still_covers,
)
from apps.sharing.services import NoteRefused, coach_note_send, share_link_touch
from apps.traces.lib.columns import Columns
from apps.traces.lib.influx import InfluxError
from simcoach_agent import wire
from simcoach_site.events import (
    AccessChanged,
    CoachingNote,
    CueChanged,
    CueDeliver,
    CueWithdraw,
    LiveCoaching,
    LiveFrame,
    LiveLap,
    RigRevoked,
    SessionEnded,
    SessionStarted,
    ShareRevoked,
    rig_group,
    session_group,
    share_group,
    team_group,
    user_group,
)
from simcoach_site.lib.client import client_ip, ip_bucket
from simcoach_site.lib.units import Units

from .fanout import live_fanout
from .lib.live import frame_for_viewers
from .lib.stream import CoachCadence, SequenceGate, hello_newest_t, protocol_mismatch
from .lib.uplink import decode_frames
from .lib.viewers import cue_request_of, share_close, share_note_text, share_recheck_in, team_close
from .services import (
    IngestCursor,
    IngestError,
    IngestResult,
    rig_token_failed,
    rig_token_throttled,
    telemetry_session_end,
    telemetry_session_open,
)
from .services_cues import viewer_cue_request
from .writer import BatchWriter

log = logging.getLogger(__name__)
DRIVER_AUTHOR = "Driver"  # how a cue the driver pinned is signed
DRAIN_ON_CLOSE_S = 10.0


class NoPerMessageDbCleanup:
    """Skips the ORM-thread hop channels makes before every message (`aclose_old_connections`).

    For consumers that receive many small messages and reach the ORM only through
    database_sync_to_async (which cleans up connections itself) or their own threads, that hop
    is a thread round trip per message, and at the ingest's message rate it queued the event
    loop behind the one ORM thread (bench/RESULTS.md).
    """

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class RigTelemetryConsumer(NoPerMessageDbCleanup, AsyncWebsocketConsumer):
    session_id: int | None = None
    user_id: int | None = None
    coach: LiveCoach | None = None
    _fanout_down = False
    _last_push = 0.0
    writer: BatchWriter | None = None  # None: no session, or it has ended
    gate: SequenceGate | None = None  # None: no hello yet (or the session was ended)
    closing = False
    _held: Columns | None = None  # newest batch waiting for its viewer slot
    _flusher: asyncio.Task[None] | None = None
    # The writer task closes laps on the coach in a thread while batches keep arriving: the
    # coach must never run both at once (feed would read a half-set reference lap).
    _coach_lock: asyncio.Lock
    _cadence: CoachCadence  # fresh frames the rules have not run over yet
    discipline: Discipline  # which of the rules' messages are said to the driver
    _newest_t: float | None = None  # the newest frame time this socket has seen
    _counts_saver: asyncio.Task[None] | None = None  # a pending write of the coaching counters
    _counts_saved_at = 0.0  # monotonic s

    async def connect(self) -> None:
        self._coach_lock, self._cadence = asyncio.Lock(), CoachCadence()
        self.discipline = _new_discipline()
        self._cue_sent_at: dict[int, dt.datetime] = {}  # cue id -> when this socket sent it
        await self.accept()
        rig, ip = self.scope.get("rig"), ip_bucket(client_ip(self.scope))
        if await sync_to_async(rig_token_throttled)(ip=ip):
            # Said whatever the token: a right one must not tell itself apart while blocked.
            await self._close(wire.CLOSE_TOO_MANY, "too many wrong rig tokens from this address: try later")
            return
        if rig is None:
            given = self.scope.get("rig_token_given")
            if given:
                await sync_to_async(rig_token_failed)(ip=ip)
            reason = "unknown or revoked rig token" if given else "no rig token"
            await self._close(
                wire.CLOSE_UNAUTHORIZED, f"{reason}: run `simcoach-agent pair` to pair this rig"
            )
            return
        self.rig = rig
        self.rig_group = rig_group(rig.pk)
        await self.channel_layer.group_add(self.rig_group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        # Frames that arrived are stored even though their acks can no longer be sent (the
        # agent resends them anyway; storing twice is harmless). Bounded: a stuck store must
        # not keep a dead socket's consumer alive.
        if self.writer is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.writer.drain(), DRAIN_ON_CLOSE_S)
        self._stop_writer()
        await self._save_counts_now()
        if getattr(self, "rig_group", None):
            await self.channel_layer.group_discard(self.rig_group, self.channel_name)

    def _stop_writer(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            self._held = None
        if self.writer is not None:
            self.writer.cancel()
            self.writer = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return  # the close is on its way; nothing more from this socket is taken
        try:
            # the size first: Daphne's own limit (1 MiB) is higher and closes without a reason
            wire.check_size(len(bytes_data) if bytes_data is not None else len((text_data or "").encode()))
            if bytes_data is None:
                raise wire.WireError("send msgpack in binary messages, not text")
            msg = wire.decode_message(bytes_data)
            handler = {
                "hello": self._hello,
                "frames": self._frames,
                "end": self._end,
                "cue_ack": self._cue_ack,
                "cue_spoken": self._cue_spoken,
            }.get(msg["type"])
            if handler is None:
                raise wire.WireError(f"unknown message type {msg['type'][:40]!r}")
            await handler(msg)
        except (wire.WireError, IngestError) as exc:
            await self._refuse(exc)

    async def _refuse(self, exc: Exception) -> None:
        text = str(exc)
        code = exc.code if isinstance(exc, wire.WireError) else wire.CLOSE_PROTOCOL_ERROR
        log.info("rig %s: closing, %s", getattr(self, "rig", None), text)
        await self._close(code, text[:120])

    async def _close(self, code: int, reason: str) -> None:
        self.closing = True
        self._stop_writer()
        await self.close(code, reason)

    async def _hello(self, msg: dict[str, Any]) -> None:
        mismatch = protocol_mismatch(msg.get("protocol"))
        if mismatch is not None:
            await self._close(wire.CLOSE_VERSION, mismatch)
            return
        newest_t = hello_newest_t(msg)
        if self.writer is not None:
            await self.writer.drain()  # the previous session's frames first
            self._stop_writer()
        await self._save_counts_now()  # the previous session's
        session = await database_sync_to_async(telemetry_session_open)(rig=self.rig, hello=msg)
        self.session_id, self.user_id = session.pk, session.owner_id
        self.session_group = session_group(session.pk)
        self.coach = await database_sync_to_async(live_coach_for_session)(session_id=session.pk)
        # the agent's newest frame: what it sends next may be a backlog far behind it
        self._cadence, self.discipline, self._newest_t = CoachCadence(), _new_discipline(), newest_t
        # A reconnect carries on the session's counters (the lap's budget starts afresh).
        self.discipline.resume(await _coach_counts(session.pk))
        self.gate = SequenceGate(session.last_seq + 1)
        ended = session.state != Session.State.LIVE
        if not ended:
            self.writer = BatchWriter(IngestCursor.of(session), self._stored, self._store_failed)
        # `ended`: the agent moves what it has not sent to a new session (docs/protocol.md)
        welcome = {"type": "welcome", "session_id": session.pk, "last_seq": session.last_seq, "ended": ended}
        await self.send_msgpack(welcome)
        if not ended:
            await self._send_active_cues(session)

    async def _frames(self, msg: dict[str, Any]) -> None:
        if self.gate is None:
            raise wire.WireError("send hello before frames")
        seq, n, cols = decode_frames(msg)
        if self.writer is None:
            raise IngestError("session has ended; start a new session")
        # Live rules and viewers see each frame once, however often a spool replay sends it;
        # the store hears everything (it drops what it holds, and acks it again).
        seen = self.gate.admit(seq, n)
        if seen is not None:
            fresh = cols.tail(seen) if seen else cols
            self._see(fresh)
            await self._coach_later(fresh)
            await self._push_live(fresh)
        await self.writer.put(seq, cols)

    async def _coach_later(self, cols: Columns) -> None:
        # The screens' live delta is worked out per batch meanwhile (_send_live).
        if self.coach is not None:
            for frames in self._cadence.add(cols):
                await self._coach_run(frames)

    async def _coach_flush(self) -> None:
        frames = self._cadence.take()
        if frames is not None and self.coach is not None:
            await self._coach_run(frames)

    async def _coach_run(self, frames: Columns) -> None:
        assert self.coach is not None
        async with self._coach_lock:
            messages = self.coach.feed(frames)
        await self._coach(messages)

    async def _stored(self, result: IngestResult) -> None:
        await self.send_msgpack({"type": "ack", "seq": result.acked_seq})
        if result.laps:
            await self._coach_flush()  # the rules see a lap's last frames before it closes
        for lap in result.laps:
            live_lap: LiveLap = {"type": "live.lap", "lap": lap_dict(lap)}
            await self._fanout(live_lap)
            closing = sync_to_async(live_coach_lap_completed, thread_sensitive=False)
            assert self.coach is not None
            async with self._coach_lock:
                messages = await closing(coach=self.coach, lap_id=lap.pk)
            await self._coach(messages)

    def _see(self, cols: Columns) -> None:
        t = float(cols["t"][-1])
        self._newest_t = t if self._newest_t is None else max(self._newest_t, t)

    async def _coach(self, messages: list[Message]) -> None:
        """Coaching the discipline lets through goes to the driver (agent); everyone watching
        sees every message, marked with its verdict, and the counters."""
        if not messages:
            return
        verdicts = self.discipline.judge(messages, newest_t=self._newest_t)
        counts = self.discipline.counts()
        for m, verdict in zip(messages, verdicts, strict=True):
            if verdict == "spoken":
                await self.send_msgpack(coaching_for_agent(m))
            await self._fanout(coaching_for_viewers(m, verdict, counts))
        self._save_counts_soon()

    def _save_counts_soon(self) -> None:
        """Keep the counters for viewers who connect later: at most one cache write a second
        (a thread hop and a Redis round trip), always the latest counts."""
        if self._counts_saver is None or self._counts_saver.done():
            wait = self._counts_saved_at + COACH_COUNTS_EVERY_S - time.monotonic()
            self._counts_saver = asyncio.create_task(self._save_counts(max(0.0, wait)))

    async def _save_counts(self, wait: float = 0.0) -> None:
        await asyncio.sleep(wait)
        if self.session_id is None:
            return
        self._counts_saved_at = time.monotonic()
        save = sync_to_async(cache.set, thread_sensitive=False)  # not behind the ORM's thread
        key = coach_counts_key(self.session_id)
        await self._best_effort(save(key, self.discipline.counts(), COACH_COUNTS_KEEP_S))

    async def _save_counts_now(self) -> None:
        saver, self._counts_saver = self._counts_saver, None
        if saver is not None and not saver.done():
            saver.cancel()
            await self._save_counts()

    async def _push_live(self, cols: Columns) -> None:
        # Latest wins: viewers get at most LIVE_VIEWER_HZ frames, never a queue of them. A
        # batch that comes too soon is held (replacing any older held one) and sent when the
        # interval is up, so the newest frame always reaches the screen, even before a pause.
        wait = self._last_push + 1.0 / settings.LIVE_VIEWER_HZ - time.monotonic()
        if wait <= 0:
            await self._send_live(cols)
            return
        if self._held is None:
            self._flusher = asyncio.create_task(self._send_held(wait))
        self._held = cols

    async def _send_held(self, wait: float) -> None:
        await asyncio.sleep(wait)
        cols, self._held = self._held, None
        if cols is not None:
            await self._send_live(cols)

    async def _send_live(self, cols: Columns) -> None:
        self._last_push = time.monotonic()
        assert self.session_id is not None
        fanout = live_fanout()
        if not fanout.wanted(self.session_id):
            return
        delta = self.coach.live_delta(cols) if self.coach is not None else None
        await self._best_effort(fanout.frame(self.session_id, frame_for_viewers(cols, delta)))

    async def _fanout(self, event: LiveLap | LiveCoaching) -> None:
        await self._best_effort(self.channel_layer.group_send(self.session_group, event))

    async def _best_effort(self, telling_viewers: Awaitable[None]) -> None:
        """Viewers are told on a best-effort basis: with the channel layer down (Redis
        restarting) the rig's frames must still be stored and acked, so a failed send is
        logged (once per outage) and dropped, never raised into the ingest path."""
        try:
            await telling_viewers
            self._fanout_down = False
        except Exception as exc:  # redis-py and the layer raise many types while Redis is away
            if not self._fanout_down:
                log.warning("session %s: live fan-out failed (%s); still storing", self.session_id, exc)
            self._fanout_down = True

    async def _store_failed(self, exc: Exception) -> None:
        if isinstance(exc, InfluxError):
            # Nothing was acked; the agent keeps the frames and resends them on reconnect.
            log.warning(
                "session %s: trace store failed (%s); asking the agent to resend", self.session_id, exc
            )
            await self._close(wire.CLOSE_TRY_AGAIN, "trace store unavailable; resend unacked frames later")
        elif isinstance(exc, IngestError):
            await self._refuse(exc)
        else:
            log.exception("session %s: storing frames failed", self.session_id, exc_info=exc)
            await self._close(wire.CLOSE_SERVER_ERROR, "server error while storing frames; resend them later")

    async def _end(self, msg: dict[str, Any]) -> None:
        if self.session_id is None:
            raise wire.WireError("send hello before end")
        await self._coach_flush()
        if self.writer is not None:
            await self.writer.drain()  # everything sent before `end` belongs to the session
            self._stop_writer()
        if self.session_id is not None:
            await database_sync_to_async(telemetry_session_end)(session_id=self.session_id)
            self.session_id, self.gate = None, None

    async def send_msgpack(self, message: dict[str, Any]) -> None:
        await self.send(bytes_data=wire.encode_control(message))

    # Channel-layer events addressed to this rig.
    async def rig_revoked(self, event: RigRevoked) -> None:
        await self.close(wire.CLOSE_REVOKED, "this rig's token was revoked: pair it again")

    async def session_started(self, event: SessionStarted) -> None:
        pass  # the rig group hears its own sessions start; only share viewers act on it

    async def coaching_note(self, event: CoachingNote) -> None:
        await self.send_msgpack({"type": "note", "author": event["author"], "text": event["text"]})

    # -- cues pinned to a place on track: to the agent, and what it reports back

    async def _send_active_cues(self, session: Session) -> None:
        """A (re)connected agent clears its cues at the welcome: it gets the session's again."""
        cues = await database_sync_to_async(
            lambda: [cue_wire(c) for c in cue_list_for_session(session=session)]
        )()
        for cue in cues:
            await self._send_cue(cue)

    async def _send_cue(self, cue: dict[str, Any]) -> None:
        sent_at = timezone.now()  # the server's clock at both ends of the delivery time
        await self.send_msgpack({**cue, "sent_at": sent_at.timestamp()})
        self._cue_sent_at[cue["id"]] = sent_at
        await database_sync_to_async(cue_sent)(cue_id=cue["id"], sent_at=sent_at)

    async def cue_deliver(self, event: CueDeliver) -> None:
        if event["session_id"] == self.session_id:
            await self._send_cue(dict(event["cue"]))

    async def cue_withdraw(self, event: CueWithdraw) -> None:
        if event["session_id"] == self.session_id:
            await self.send_msgpack({"type": "cue_removed", "id": event["cue_id"]})

    async def _cue_ack(self, msg: dict[str, Any]) -> None:
        arrived = timezone.now()
        cue = await database_sync_to_async(cue_for_agent)(session_id=self.session_id, cue_id=msg.get("id"))
        if cue is None:
            # a bad or stale reply is not worth the telemetry: logged and dropped, socket kept
            log.warning("rig %s: cue_ack for unknown cue %r ignored", self.rig.pk, str(msg.get("id"))[:40])
            return
        sent_at = self._cue_sent_at.pop(cue.pk, None)
        await database_sync_to_async(cue_delivered)(cue=cue, sent_at=sent_at, delivered_at=arrived)

    async def _cue_spoken(self, msg: dict[str, Any]) -> None:
        cue = await database_sync_to_async(cue_for_agent)(session_id=self.session_id, cue_id=msg.get("id"))
        if cue is None:
            log.warning("rig %s: cue_spoken for unknown cue %r ignored", self.rig.pk, str(msg.get("id"))[:40])
            return
        try:
            await database_sync_to_async(cue_spoken)(
                cue=cue, lap=msg.get("lap"), before_m=msg.get("before_m"), speed_kmh=msg.get("speed_kmh")
            )
        except CueRefused as exc:
            log.warning("rig %s: cue_spoken for cue %s refused: %s", self.rig.pk, cue.pk, exc)


COACH_COUNTS_KEEP_S = 24 * 3600  # s a session's coaching counters stay readable for late viewers
COACH_COUNTS_EVERY_S = 1.0  # s between two writes of one socket's counters


def _new_discipline() -> Discipline:
    return Discipline(budget=settings.COACH_CUE_BUDGET, fresh_s=settings.COACH_FRESH_S)


def coach_counts_key(session_id: int) -> str:
    return f"live-coach-counts:{session_id}"


def coaching_for_agent(m: Message) -> dict[str, Any]:
    """The wire's `coaching` message: `t`, `lap` and `until_m` let the agent tell a message
    that comes too late (docs/protocol.md); an older agent ignores them."""
    out: dict[str, Any] = {"type": "coaching", "rule": m.rule, "severity": m.severity, "text": m.text}
    out["t"] = float(m.t)
    if m.lap is not None:
        out["lap"] = int(m.lap)
    if m.until_m is not None:
        out["until_m"] = float(m.until_m)
    return out


def coaching_for_viewers(m: Message, verdict: Verdict, counts: dict[str, object]) -> LiveCoaching:
    # `data` (numbers in stored units) lets each viewer read the message in its units.
    return {
        "type": "live.coaching",
        "message": {
            "rule": m.rule,
            "severity": m.severity,
            "text": m.text,
            "data": _plain(m.data),
            "status": verdict,
        },
        "counts": counts,
    }


def _plain(data: dict[str, Any]) -> dict[str, str | float]:
    # JSON- and msgpack-safe numbers (a rule may hold numpy scalars) and words; nothing else.
    out: dict[str, str | float] = {}
    for key, value in data.items():
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, int | float | np.floating | np.integer) and not isinstance(value, bool):
            out[key] = float(value)
    return out


async def _coach_counts(session_id: int) -> dict[str, object] | None:
    """The session's coaching counters so far (None: none yet, or the cache is away)."""
    try:
        counts = await cache.aget(coach_counts_key(session_id))
    except Exception:  # the cache (Redis) restarting must not keep a viewer from its page
        log.warning("session %s: coaching counters unavailable", session_id, exc_info=True)
        return None
    return counts if isinstance(counts, dict) else None


class LiveViewerConsumer(NoPerMessageDbCleanup, AsyncJsonWebsocketConsumer):
    """What every viewer of a live session shares: joining one session group and relaying it."""

    session_id: int | None = None
    follow_group: str | None = None
    units: Units | None = None  # the viewer's display units, set on connect

    async def _set_units(self, owner: Any = None) -> None:
        """The units this viewer reads coaching messages in (the page's own, units_for_viewer)."""
        headers = dict(self.scope.get("headers") or [])
        language = headers.get(b"accept-language", b"").decode("latin-1")
        find = database_sync_to_async(units_for_viewer)
        self.units = await find(
            user=self.scope.get("user") or AnonymousUser(), accept_language=language, owner=owner
        )

    async def _watch(self, session: Session | None) -> None:
        await self._unwatch()
        if session is None:
            await self.send_json({"type": "waiting"})
            return
        self.session_id = session.pk
        # The layer brings frames from rigs in other processes, the fan-out those of this one.
        await self.channel_layer.group_add(session_group(session.pk), self.channel_name)
        live_fanout().watch(session.pk, self)
        snapshot = await database_sync_to_async(session_live_snapshot)(session=session)
        counts = await _coach_counts(session.pk)
        cues = await database_sync_to_async(
            lambda: [cue_dict(c) for c in cue_list_for_session(session=session)]
        )()
        # with the coaching counters and the cues so far
        await self.send_json({"type": "session", **snapshot, "coach_counts": counts, "cues": cues})

    async def _unwatch(self) -> None:
        if self.session_id is not None:
            live_fanout().unwatch(self.session_id, self)
            await self.channel_layer.group_discard(session_group(self.session_id), self.channel_name)
        self.session_id = None

    async def _leave_groups(self, *groups: str | None) -> None:
        await self._unwatch()
        for group in (self.follow_group, *groups):
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        await self._leave_groups()

    async def live_frame(self, event: LiveFrame) -> None:
        if event.get("origin") != live_fanout().origin:  # this loop's frames came directly
            await self.send(text_data=event["text"])  # encoded once by the rig's consumer

    async def live_lap(self, event: LiveLap) -> None:
        await self.send_json({"type": "lap", "lap": event["lap"]})

    async def live_coaching(self, event: LiveCoaching) -> None:
        message: dict[str, Any] = dict(event["message"])
        data = message.pop("data", None) or {}
        try:
            text = message_text(message["rule"], data, self.units) if self.units else None
        except (KeyError, TypeError, ValueError):  # a message from an older server: as it was worded
            text = None
        said: dict[str, Any] = {"type": "coaching", "message": {**message, "text": text or message["text"]}}
        if "counts" in event:
            said["counts"] = event["counts"]
        await self.send_json(said)

    async def coaching_note(self, event: CoachingNote) -> None:
        # Share viewers also hear the rig group; its copy of a note is for the agent only.
        if "rig_id" not in event:
            await self.send_json({"type": "note", "author": event["author"], "text": event["text"]})

    async def session_ended(self, event: SessionEnded) -> None:
        await self.send_json({"type": "ended", "session_id": event["session_id"]})

    async def cue_changed(self, event: CueChanged) -> None:
        if event["session_id"] == self.session_id:
            await self.send_json({"type": "cue", "cue": event["cue"], "spoken": event["spoken"]})

    async def cue_deliver(self, event: CueDeliver) -> None:
        pass  # heard through the rig group (followers of a rig): for the rig's socket only

    async def cue_withdraw(self, event: CueWithdraw) -> None:
        pass

    async def _cue_request(
        self, content: dict[str, object], find_session: Any, author: str, via: str, user: Any
    ) -> None:
        """Pin or remove a cue on the watched session; a refusal is told to this page only."""
        if self.session_id is None:
            await self.send_json(
                {"type": "cue_refused", "reason": "there is no live session to pin a cue on"}
            )
            return

        def run() -> None:
            session = find_session()
            if session is None:
                raise CueRefused("there is no live session to pin a cue on")
            viewer_cue_request(session=session, content=content, author=author, via=via, author_user=user)

        try:
            await database_sync_to_async(run)()
        except CueRefused as exc:
            await self.send_json({"type": "cue_refused", "reason": str(exc)})
        except Http404:
            await self.send_json({"type": "cue_refused", "reason": "no such cue on this session"})


class SessionLiveConsumer(LiveViewerConsumer):
    """A logged-in owner watching one session (/ws/live/<id>/), one rig (/ws/live/rig/<id>/:
    its current session, the next one when it starts) or the car that is moving (/ws/live/).

    Following a rig, it tells the page every rig's state (streaming, idle, offline) whenever
    one changes; a session that went silent is shown as ended before the server's sweep ends it.
    """

    RIGS_EVERY_S = 2.0  # seconds between looks at the rigs' states
    rig_id: int | None = None  # the chosen rig; None with session_id set: one fixed session
    follows_rigs = False
    _rigs_sent: list[dict[str, object]] | None = None
    _following: int | None = None
    _rigs_task: asyncio.Task[None] | None = None
    _refreshing: asyncio.Lock

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(wire.CLOSE_UNAUTHORIZED, "log in to watch live telemetry")
            return
        await self._set_units()
        kwargs = self.scope["url_route"]["kwargs"]
        try:
            if "session_id" in kwargs:
                session = await database_sync_to_async(session_get_for_user)(
                    user=user, session_id=kwargs["session_id"]
                )
                await self._watch(session)
                return
            if "rig_id" in kwargs:
                rig = await database_sync_to_async(rig_get_for_user)(user=user, rig_id=kwargs["rig_id"])
                self.rig_id = rig.pk
        except Http404 as exc:
            await self.close(wire.CLOSE_NOT_FOUND, str(exc).lower() or "not found")
            return
        # A chosen rig's group hears its sessions start; the user's group hears them all.
        self.follows_rigs, self._refreshing = True, asyncio.Lock()
        self.follow_group = rig_group(self.rig_id) if self.rig_id is not None else user_group(user.pk)
        await self.channel_layer.group_add(self.follow_group, self.channel_name)
        await self._refresh()
        self._rigs_task = asyncio.create_task(self._watch_rigs())

    async def disconnect(self, code: int) -> None:
        if self._rigs_task is not None:
            self._rigs_task.cancel()
        await self._leave_groups()

    async def _watch_rigs(self) -> None:
        while True:
            await asyncio.sleep(self.RIGS_EVERY_S)
            try:
                await self._refresh()
            except Exception:  # a database hiccup must not end the page's updates for good
                log.exception("live viewer: refreshing the rigs failed; trying again")

    async def _refresh(self, *, ended: int | None = None) -> None:
        """Follow the chosen (or moving) rig's current session and tell the page the rigs' states.

        ``ended``: the session the server just said ended (the page was told already).
        """
        async with self._refreshing:
            if ended is not None and ended == self.session_id:
                await self._unwatch()
            rigs = await database_sync_to_async(rig_live_list)(user=self.scope["user"])
            target = self._target(rigs)
            session_id = target.session_id if target is not None else None
            if session_id != self.session_id:
                if self.session_id is not None:
                    # silent too long, or ended: shown as ended before whatever comes next
                    await self.send_json({"type": "ended", "session_id": self.session_id})
                    await self._unwatch()
                if session_id is not None:
                    with contextlib.suppress(Http404):  # deleted since the look: the next one tells
                        session = await database_sync_to_async(session_get_for_user)(
                            user=self.scope["user"], session_id=session_id
                        )
                        await self._watch(session)
            elif session_id is None and self._rigs_sent is None:
                await self.send_json({"type": "waiting"})  # connected with nothing to show yet
            rows = [r.as_json() for r in rigs]
            following = target.rig_id if target is not None else self.rig_id
            if rows != self._rigs_sent or following != self._following:
                self._rigs_sent, self._following = rows, following
                await self.send_json(
                    {"type": "rigs", "rigs": rows, "following": following, "chosen": self.rig_id}
                )

    def _target(self, rigs: list[RigLive]) -> RigLive | None:
        if self.rig_id is not None:
            return next((r for r in rigs if r.rig_id == self.rig_id), None)
        watched = next((r.rig_id for r in rigs if r.session_id == self.session_id), None)
        return rig_to_follow(rigs, current=watched if self.session_id is not None else None)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Owners watch, and pin cues on the watched session; anything else is ignored as before.
        if not (isinstance(content, dict) and content.get("type") in ("cue_pin", "cue_remove")):
            return
        user, session_id = self.scope["user"], self.session_id

        def find() -> Session | None:
            return session_get_for_user(user=user, session_id=session_id) if session_id else None

        # "Driver", not the username: share viewers see who pinned a cue, never the account
        await self._cue_request(content, find, DRIVER_AUTHOR, "live", user)

    async def session_started(self, event: SessionStarted) -> None:
        if self.follows_rigs:
            await self._refresh()

    async def session_ended(self, event: SessionEnded) -> None:
        await super().session_ended(event)
        if self.follows_rigs:
            await self._refresh(ended=event["session_id"])  # another rig may be moving

    async def rig_revoked(self, event: RigRevoked) -> None:
        if self.follows_rigs:
            await self._refresh()  # the rig leaves the picker; its socket is closed by the server


class ShareViewerConsumer(LiveViewerConsumer):
    """Someone watching a driver through a grant (apps/sharing/access.py): a share-link holder
    (/ws/share/<token>/), a coach's saved driver (/ws/coached/<id>/) or a coach of a team the
    driver shares with (/ws/coached/team/<team>/<driver>/).

    Read-only: the one thing it may send is a short note to the driver. The grant is checked
    again on every note, when its group is told something changed, and every RECHECK_S.
    """

    RECHECK_S = 10.0  # seconds between re-checks of the grant in the database
    grant: Grant | None = None
    grant_group: str | None = None
    _guard: asyncio.Task[None] | None = None

    @property
    def _team_door(self) -> bool:
        return "team_id" in self.scope["url_route"]["kwargs"]

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if self._team_door and (user is None or not user.is_authenticated):
            await self._cut_off("login")
            return
        access = await database_sync_to_async(self._resolve)()
        if access.grant is None or not access.ok:
            await self._cut_off(access.refusal or "unknown")
            return
        if not access.grant.live:
            await self._cut_off("forbidden")  # a team member who does not coach
            return
        self.grant = grant = access.grant
        await self._set_units(owner=await database_sync_to_async(User.objects.get)(pk=grant.driver_id))
        if grant.link is not None:
            await database_sync_to_async(share_link_touch)(link=grant.link)
            self.grant_group = share_group(grant.link.pk)
            # The rig's group announces each new session it starts: a live-rig link follows it.
            self.follow_group = rig_group(grant.link.rig_id) if grant.link.rig_id is not None else None
        else:  # a team's coach (or the driver, through their team's door)
            self.grant_group = team_group(grant.team.pk) if grant.team is not None else None
            self.follow_group = user_group(grant.driver_id)  # the driver's sessions, on any rig
        if self.grant_group is not None:
            await self.channel_layer.group_add(self.grant_group, self.channel_name)
        if self.follow_group is not None:
            await self.channel_layer.group_add(self.follow_group, self.channel_name)
        await self._watch(await database_sync_to_async(live_session_for)(grant))
        self._guard = asyncio.create_task(self._guard_grant())

    def _resolve(self) -> Access:
        kwargs = self.scope["url_route"]["kwargs"]
        if "token" in kwargs:
            return grant_by_token(kwargs["token"])
        if "coached_driver_id" in kwargs:
            return grant_by_coached_driver(self.scope.get("user"), kwargs["coached_driver_id"])
        return grant_by_team(self.scope.get("user"), kwargs["team_id"], kwargs["driver_id"])

    def _refusal_now(self) -> str | None:
        """Why this socket may no longer show what it shows (None: it still may)."""
        access = self._resolve()
        if access.grant is None or not access.ok:
            return access.refusal or "unknown"
        if not access.grant.live:
            return "forbidden"
        if self.session_id is not None and not still_covers(access.grant, self.session_id):
            return "unshared"
        return None

    async def _recheck(self) -> bool:
        refusal = await database_sync_to_async(self._refusal_now)()
        if refusal is not None:
            await self._cut_off(refusal)
        return refusal is None

    async def _guard_grant(self) -> None:
        while True:
            await asyncio.sleep(self._until_next_check())
            if not await self._recheck():
                return

    def _until_next_check(self) -> float:
        link = self.grant.link if self.grant is not None else None
        expires_at = link.expires_at if link is not None else None
        return share_recheck_in(now=timezone.now(), expires_at=expires_at, every_s=self.RECHECK_S)

    async def _cut_off(self, refusal: str) -> None:
        code, reason = team_close(refusal) if self._team_door else share_close(refusal)
        # Said in a message too: Daphne drops close reasons, and the page must tell why.
        await self.send_json({"type": "closed", "code": code, "reason": reason})
        await self.close(code, reason)
        await self._leave_groups(self.grant_group)
        if self._guard is not None and self._guard is not asyncio.current_task():
            self._guard.cancel()

    async def disconnect(self, code: int) -> None:
        if self._guard is not None:
            self._guard.cancel()
        await self._leave_groups(self.grant_group)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        cue = cue_request_of(text_data)
        if cue is not None:
            await self._share_cue(cue)
            return
        try:
            text = share_note_text(text_data)
        except wire.WireError as exc:
            await self.close(exc.code, str(exc))
            return
        try:
            await database_sync_to_async(self._send_note)(text)
        except NoteRefused as exc:
            await self.send_json({"type": "note_refused", "reason": str(exc)})

    def _send_note(self, text: object) -> None:
        # Re-resolved on every note: a grant gone a moment ago must not speak to the rig.
        access = self._resolve()
        if access.grant is None or not access.ok or self.session_id is None:
            raise NoteRefused("there is no live session to send a note to")
        session = live_session_for(access.grant, session_id=self.session_id)
        if session is None or not access.grant.notes:
            raise NoteRefused("there is no live session to send a note to")
        coach_note_send(grant=access.grant, session=session, text=text)

    async def _share_cue(self, content: dict[str, object]) -> None:
        """A cue from whoever may send notes here (a link's holder, a saved driver's coach, a
        team's coach): the same grant, re-resolved on every request as for notes."""
        session_id = self.session_id
        grant = self.grant

        def find() -> Session | None:
            access = self._resolve()
            if access.grant is None or not access.ok:
                raise CueRefused(f"you may no longer pin cues here: {access.refusal or 'unknown'}")
            if not access.grant.notes:
                raise CueRefused("only the driver and their coaches pin cues")
            return live_session_for(access.grant, session_id=session_id) if session_id else None

        author = await database_sync_to_async(lambda: grant.author if grant is not None else "Coach")()
        via = "team" if grant is not None and grant.team is not None else "share"
        user = self.scope.get("user")
        author_user = user if user is not None and user.is_authenticated else None
        await self._cue_request(content, find, author, via, author_user)

    async def session_started(self, event: SessionStarted) -> None:
        if self.grant is None:
            return
        find = database_sync_to_async(live_session_for)
        session = await find(self.grant, session_id=event["session_id"])
        if session is not None:
            await self._watch(session)

    async def share_revoked(self, event: ShareRevoked) -> None:
        await self._cut_off("revoked")

    async def access_changed(self, event: AccessChanged) -> None:
        if await self._recheck() and self.session_id is None and self.grant is not None:
            # Shared just now (or by default from now): show what is live, if anything.
            session = await database_sync_to_async(live_session_for)(self.grant)
            if session is not None:
                await self._watch(session)

    async def rig_revoked(self, event: RigRevoked) -> None:
        await self._cut_off("revoked")  # an unpaired rig shares nothing any more


class UnknownSocketConsumer(AsyncWebsocketConsumer):
    """Any other WebSocket path: a clean close with a reason, where the router would raise
    (a 500 and a traceback in the log for every stray client or scanner)."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(wire.CLOSE_NOT_FOUND, "no WebSocket at this path")
