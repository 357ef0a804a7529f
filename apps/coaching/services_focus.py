"""Focus corners: at most three corners a driver works on, each with a concrete target, kept
open across sessions until the target is met on enough laps of one session or the driver
closes it. Every function here is idempotent: a report written twice for one session proposes
and reviews the same focus corners with the same numbers.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.sessions.lib.stats import best_lap, lap_value
from apps.sessions.models import Lap, Session
from simcoach_site.lib.units import STORED, Units

from .lib.facts import BRAKE_SHIFT_M, SPEED_SHIFT_KMH
from .lib.focus_words import change_words, focus_amount, focus_number, focus_unit, target_words
from .lib.history import CornerMeasure
from .models import FocusCorner
from .selectors import lap_corner_measures

MAX_OPEN: Final = 3
FOCUS_LAPS_TO_MEET: Final = 3  # green laps of one session on target close a focus
BRAKE_TOLERANCE_M: Final = 2.0  # a braking point this close before the target counts as on it
SPEED_TOLERANCE_KMH: Final = 0.5


class FocusError(ValueError):
    pass


def _green_measures(session: Session) -> list[tuple[Lap, dict[str, CornerMeasure]]]:
    names = [c["name"] for c in session.track.corners if isinstance(c, dict) and "name" in c]
    laps = Lap.objects.filter(session=session).order_by("number")
    pairs = ((lap, lap_corner_measures(lap, names)) for lap in laps if lap_value(lap).green)
    return [(lap, m) for lap, m in pairs if m is not None]


def _value(focus_kind: str, measure: CornerMeasure | None) -> float | None:
    if measure is None:
        return None
    return measure.brake_m if focus_kind == FocusCorner.Kind.BRAKE else measure.min_kmh


def _met(focus: FocusCorner, value: float | None) -> bool:
    if value is None:
        return False
    if focus.kind == FocusCorner.Kind.BRAKE:
        return value >= focus.target - BRAKE_TOLERANCE_M
    return value >= focus.target - SPEED_TOLERANCE_KMH


def _previous(focus: FocusCorner, session: Session) -> float:
    earlier = [r for k, r in focus.reviews.items() if k != str(session.pk) and r.get("value") is not None]
    earlier.sort(key=lambda r: (r["started_at"], r["session_id"]))
    return float(earlier[-1]["value"]) if earlier else focus.baseline


def focus_session_review(*, session: Session) -> list[FocusCorner]:
    """Review the driver's open focus corners against a session that came after they opened;
    a focus on target on FOCUS_LAPS_TO_MEET green laps is met (closed in this session)."""
    laps = _green_measures(session)
    mine = FocusCorner.objects.filter(
        owner_id=session.owner_id, track_id=session.track_id, car_id=session.car_id
    )
    # Open ones opened before this session, and those this session met (a report written again).
    ids = mine.filter(
        Q(status=FocusCorner.Status.OPEN, opened_in__started_at__lt=session.started_at) | Q(closed_in=session)
    ).values_list("pk", flat=True)
    with transaction.atomic():
        locked = FocusCorner.objects.select_for_update().filter(pk__in=list(ids)).order_by("pk")
        return [_review_one(focus, session, laps) for focus in locked]


def _review_one(
    focus: FocusCorner, session: Session, laps: list[tuple[Lap, dict[str, CornerMeasure]]]
) -> FocusCorner:
    values = [v for _, m in laps if (v := _value(focus.kind, m.get(focus.corner))) is not None]
    hits = sum(_met(focus, v) for v in values)
    value = round(statistics.median(values), 1) if values else None
    previous = _previous(focus, session)
    focus.reviews[str(session.pk)] = {
        "session_id": session.pk,
        "started_at": session.started_at.isoformat(),
        "laps": len(values),
        "laps_met": hits,
        "value": value,
        "change": round(value - previous, 1) + 0.0 if value is not None else None,
    }
    if focus.status == FocusCorner.Status.OPEN and hits >= FOCUS_LAPS_TO_MEET:
        focus.status, focus.closed_in, focus.closed_at = FocusCorner.Status.MET, session, timezone.now()
    focus.save(update_fields=["reviews", "status", "closed_in", "closed_at"])
    return focus


def focus_propose(*, session: Session, opportunities: Sequence[dict[str, Any]]) -> list[FocusCorner]:
    """Open focus corners for a session's biggest opportunities (the report's, in order), with
    the session's best lap as the target, while fewer than MAX_OPEN are open. A second call for
    the same session returns what the first opened."""
    opened = list(FocusCorner.objects.filter(opened_in=session))
    if opened:
        return opened
    laps = _green_measures(session)
    fastest = best_lap(lap_value(lap) for lap, _ in laps)
    best = next((m for lap, m in laps if fastest is not None and lap.pk == fastest.key), None)
    if best is None:
        return []
    for opp in opportunities:
        if len(_open(session)) >= MAX_OPEN:
            break
        focus = _proposal(session, opp, best, laps)
        if focus is not None:
            opened.append(focus)
    return opened


def _open(session: Session) -> list[FocusCorner]:
    return list(
        FocusCorner.objects.filter(
            owner_id=session.owner_id, track_id=session.track_id, car_id=session.car_id, status="open"
        )
    )


def _kind(opp: dict[str, Any]) -> str | None:
    brake, v_min = opp.get("brake_point_vs_best_m"), opp.get("min_speed_vs_best_kmh")
    if brake is not None and brake <= -BRAKE_SHIFT_M:
        return FocusCorner.Kind.BRAKE  # braked earlier than on the best lap
    if v_min is not None and v_min <= -SPEED_SHIFT_KMH:
        return FocusCorner.Kind.MIN_SPEED
    return None  # no concrete target: not a focus


def _proposal(
    session: Session,
    opp: dict[str, Any],
    best: dict[str, CornerMeasure],
    laps: list[tuple[Lap, dict[str, CornerMeasure]]],
) -> FocusCorner | None:
    kind, corner = _kind(opp), str(opp.get("corner", ""))
    target = _value(kind, best.get(corner)) if kind else None
    values = [v for _, m in laps if (v := _value(kind or "", m.get(corner))) is not None]
    if kind is None or target is None or not values:
        return None
    try:
        with transaction.atomic():
            return FocusCorner.objects.create(
                owner_id=session.owner_id,
                track_id=session.track_id,
                car_id=session.car_id,
                corner=corner,
                kind=kind,
                target=round(target, 1),
                baseline=round(statistics.median(values), 1),
                opened_in=session,
            )
    except IntegrityError:  # already an open focus on this corner
        return None


def focus_close(*, focus_id: int, owner_id: int) -> FocusCorner:
    """The driver closes one of their open focus corners."""
    focus = FocusCorner.objects.filter(pk=focus_id, owner_id=owner_id).first()
    if focus is None:
        raise FocusError("no such focus corner")
    if focus.status != FocusCorner.Status.OPEN:
        raise FocusError("this focus corner is already closed")
    FocusCorner.objects.filter(pk=focus.pk, status=FocusCorner.Status.OPEN).update(
        status=FocusCorner.Status.CLOSED, closed_at=timezone.now()
    )
    focus.refresh_from_db()
    return focus


def focus_facts(focus: FocusCorner, session: Session, *, new: bool, units: Units = STORED) -> dict[str, Any]:
    """One focus corner as the report states it, every number also a field (for grounding), in
    `units` (the driver's: a braking point in feet for one who reads mph)."""
    review = focus.reviews.get(str(session.pk))
    kind = focus.kind

    def shown(value: float | None) -> float | None:
        return None if value is None else round(focus_number(kind, value, units), 1) + 0.0

    out: dict[str, Any] = {
        "corner": focus.corner,
        "kind": kind,
        "target": shown(focus.target),
        "unit": focus_unit(kind, units),
        "status": "new" if new else focus.status,
        "baseline": shown(focus.baseline),
    }
    target = target_words(kind, focus.target, units)
    if new or review is None:
        out["said"] = (
            f"New focus at {focus.corner}: {target} (now {focus_amount(kind, focus.baseline, units)})."
        )
        return out
    out.update({"laps": review["laps"], "laps_met": review["laps_met"]})
    out.update({"value": shown(review["value"]), "change": shown(review["change"])})
    out["said"] = _review_words(focus, review, target, units, met_here=focus.closed_in_id == session.pk)
    return out


def _review_words(
    focus: FocusCorner, review: dict[str, Any], target: str, units: Units, *, met_here: bool
) -> str:
    head = f"{focus.corner} ({target}): "
    if review["value"] is None:
        return head + "no green lap through it this session."
    moved = change_words(focus.kind, review["change"], units)
    done = " Target met: focus closed." if focus.status == FocusCorner.Status.MET and met_here else ""
    return (
        head + f"median {focus_amount(focus.kind, review['value'], units)}, {moved} since last time; "
        f"on target on {review['laps_met']} of {review['laps']} laps.{done}"
    )
