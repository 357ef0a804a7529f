from __future__ import annotations

import datetime as dt
import statistics

from django.contrib.auth.models import User
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from simcoach_agent.tracks import track_lookup
from simcoach_site.events import (
    LapStored,
    SessionClosed,
    broadcast_on_commit,
    lap_stored,
    rig_group,
    session_closed,
    session_group,
    user_group,
)

from .lib.laps import UNTIMED, CompletedLap
from .lib.stats import lap_value
from .models import Car, Lap, Session, Track


def track_get_or_create(*, game: str, name: str, length_m: float | None) -> Track:
    known = track_lookup(name)
    corners = [c.__dict__ for c in known.corners] if known else []
    length = length_m or (known.length_m if known else None)
    track, created = Track.objects.get_or_create(
        game=game, name=name[:120], defaults={"length_m": length, "corners": corners}
    )
    if not created and track.length_m is None and length:
        track.length_m = length
        track.save(update_fields=["length_m"])
    return track


def car_get_or_create(*, game: str, name: str, car_class: str) -> Car:
    car, _ = Car.objects.get_or_create(game=game, name=name[:120], defaults={"car_class": car_class[:40]})
    return car


def session_open(
    *,
    owner: User,
    rig_id: int | None,
    agent_uid: str,
    game: str,
    track: str,
    car: str,
    car_class: str = "",
    kind: str = Session.Kind.PRACTICE,
    track_length_m: float | None = None,
) -> Session:
    """Find the session an agent is resuming, or start a new one (ending the rig's other live ones)."""
    existing = Session.objects.filter(owner_id=owner.pk, agent_uid=agent_uid).first() if agent_uid else None
    if existing is not None:
        return existing
    with transaction.atomic():
        if rig_id is not None:
            for stale in Session.objects.filter(rig_id=rig_id, state=Session.State.LIVE):
                session_end(session=stale)
        try:
            with transaction.atomic():
                session = Session.objects.create(
                    owner=owner,
                    rig_id=rig_id,
                    agent_uid=agent_uid,
                    game=game,
                    track=track_get_or_create(game=game, name=track, length_m=track_length_m),
                    car=car_get_or_create(game=game, name=car, car_class=car_class),
                    kind=kind,
                )
        except IntegrityError:  # two sockets of one agent raced to create it
            return Session.objects.get(owner_id=owner.pk, agent_uid=agent_uid)
        broadcast_on_commit(user_group(owner.pk), {"type": "session.started", "session_id": session.pk})
        if rig_id is not None:
            broadcast_on_commit(rig_group(rig_id), {"type": "session.started", "session_id": session.pk})
    return session


# Condition channels a lap analysis averages into Lap.stats as "<name>_avg" (°C).
CONDITIONS = ("air_temp", "track_temp")


def session_conditions_update(*, session_id: int) -> None:
    """The session's conditions: the median over its analysed laps of each lap's average.

    A median, so an out-lap in a cooler garage or one frame of garbage does not move it.
    """
    stats = Lap.objects.filter(session_id=session_id).values_list("stats", flat=True)
    medians: dict[str, float | None] = {}
    for name in CONDITIONS:
        values = [float(s[f"{name}_avg"]) for s in stats if isinstance(s.get(f"{name}_avg"), int | float)]
        medians[f"{name}_c"] = round(statistics.median(values), 1) if values else None
    Session.objects.filter(pk=session_id).update(**medians)


def session_end(*, session: Session, at: dt.datetime | None = None) -> bool:
    """End a live session once; returns False when it had already ended (idempotent)."""
    ended_at = at or session.last_frame_at or timezone.now()
    updated = Session.objects.filter(pk=session.pk, state=Session.State.LIVE).update(
        state=Session.State.ENDED, ended_at=ended_at
    )
    if updated != 1:
        return False
    session.state, session.ended_at = Session.State.ENDED, ended_at
    broadcast_on_commit(session_group(session.pk), {"type": "session.ended", "session_id": session.pk})
    session_closed.send(SessionClosed(session_id=session.pk))
    return True


def lap_create(*, session: Session, lap: CompletedLap) -> Lap | None:
    """Store a completed lap; a lap number already stored (a replayed batch) is a no-op."""
    if Lap.objects.filter(session=session, number=lap.number).exists():
        return None
    obj = Lap.objects.create(
        session=session,
        number=lap.number,
        # An untimed lap keeps its duration in stats, never a lap time (DESIGN: one lap rule).
        time_ms=None if lap.timing == UNTIMED else round(lap.time_s * 1000),
        sector_ms=[round(s * 1000) for s in lap.sectors_s],
        valid=lap.valid,
        is_in_lap=lap.is_in_lap,
        is_out_lap=lap.is_out_lap,
        t_start=lap.t_start,
        t_end=lap.t_end,
        started_at=dt.datetime.fromtimestamp(lap.t_start, tz=dt.UTC),
        ended_at=dt.datetime.fromtimestamp(lap.t_end, tz=dt.UTC),
        fuel_used_l=lap.fuel_used_l,
        stats={"timing": lap.timing, "partial": lap.partial, "duration_s": round(lap.t_end - lap.t_start, 3)},
    )
    lap_stored.send(LapStored(lap_id=obj.pk, session_id=session.pk))
    return obj


class LapReferenceRefused(ValueError):
    """The lap cannot be a reference; the message says why."""


def lap_reference_set(*, lap: Lap, is_reference: bool = True) -> Lap:
    """Make `lap` the driver's reference for its track and car (or stop it being one).

    At most one reference per (owner, track, car): setting one clears the others, under a
    lock on the owner's laps of that combination so two requests cannot both win. An untimed
    or partial lap is never a reference (DESIGN.md "One lap rule").
    """
    value = lap_value(lap)
    if is_reference and (
        value.timing == "untimed" or not value.time_ms or value.partial or not value.complete
    ):
        raise LapReferenceRefused(
            "only a timed, whole lap can be a reference; this one is untimed or partial"
        )
    session = lap.session
    with transaction.atomic():
        same = Lap.objects.filter(
            session__owner_id=session.owner_id,
            session__track_id=session.track_id,
            session__car_id=session.car_id,
        )
        list(same.select_for_update(of=("self",)).values_list("pk", flat=True))  # take the lock
        if is_reference:
            same.filter(is_reference=True).exclude(pk=lap.pk).update(is_reference=False)
        same.filter(pk=lap.pk).update(is_reference=is_reference)
    lap.is_reference = is_reference
    return lap


def sessions_close_idle(*, silence_s: int) -> int:
    """End live sessions whose agent has sent nothing for `silence_s` seconds; returns how many."""
    cutoff = timezone.now() - dt.timedelta(seconds=silence_s)
    idle = Session.objects.filter(state=Session.State.LIVE, source="live").filter(
        models.Q(last_frame_at__lt=cutoff) | models.Q(last_frame_at__isnull=True, started_at__lt=cutoff)
    )
    return sum(session_end(session=s) for s in idle)
