"""Post-session reports: request one, gather the facts, write the text, check its numbers.

A report row is claimed by one run at a time with a conditional update (pending -> running);
every later write is conditional on still holding that claim, so a redelivered or duplicated
task never writes twice. Transient model errors release the claim (back to pending) and raise
ReportTransientError: the Celery task decides when to try again.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.accounts.selectors import units_for_user
from apps.sessions.lib.stats import best_lap, lap_value
from apps.sessions.models import Lap, Session
from apps.sessions.selectors import lap_list
from apps.sessions.selectors_traces import track_info
from apps.traces.lib.columns import Columns
from apps.traces.selectors import lap_trace
from simcoach_site.jobs import enqueue
from simcoach_site.lib.units import STORED

from .lib import llm
from .lib.facts import SessionInput, facts_in_units, session_facts
from .lib.history import history_facts
from .lib.report_text import (
    PROMPT_VERSION,
    SCHEMA,
    ReportFormatError,
    correction_for,
    facts_only_report,
    ground_report,
    grounding_problems,
    messages_for,
    parse_report,
)
from .models import STALE_AFTER, Report
from .selectors import corner_history_for
from .services_focus import focus_facts, focus_propose, focus_session_review

log = logging.getLogger(__name__)

MAX_TRACES: Final = 30  # laps whose traces a report reads: the best lap and the latest others
TRACE_CHANNELS: Final = [
    "lap_dist", "speed", "brake", "throttle", "fuel",
    *[f"{stem}_{w}" for stem in ("tyre_temp", "tyre_press", "brake_temp") for w in ("fl", "fr", "rl", "rr")],
]  # fmt: skip
NO_LAPS_NOTICE: Final = "Written from your data without AI: no complete valid lap to write about."


class ReportTransientError(Exception):
    """The model could not be reached or was busy; the report is pending again."""


class ReportRequestError(ValueError):
    pass


# --------------------------------------------------------------------------- requests


def report_request(*, session: Session, user: User, request_id: uuid.UUID | None = None) -> Report:
    """Ask for a new report of a session; the same request id always gives the same report.

    While another report of the session is still being written, that one is returned
    instead of paying for a second.
    """
    request_id = request_id or uuid.uuid4()
    same = Report.objects.filter(request_id=request_id).first()
    if same is not None:
        if same.session_id != session.pk:
            raise ReportRequestError("that request id belongs to another session")
        return same
    active = next((r for r in Report.objects.filter(session=session)[:1] if r.is_active), None)
    if active is not None:
        return active
    try:
        with transaction.atomic():
            report = Report.objects.create(
                session=session, requested_by_id=user.pk, trigger=Report.Trigger.MANUAL, request_id=request_id
            )
    except IntegrityError:  # the same request, submitted twice at once
        return Report.objects.get(request_id=request_id, session=session)
    _enqueue_generate(report.pk)
    return report


def session_report_create(*, session_id: int) -> Report | None:
    """The automatic report of an ended session: created once, however often this runs."""
    session = Session.objects.filter(pk=session_id, state=Session.State.ENDED).first()
    if session is None or not Lap.objects.filter(session=session).exists():
        return None
    try:
        with transaction.atomic():
            report, _ = Report.objects.get_or_create(
                session=session, trigger=Report.Trigger.AUTO, defaults={"requested_by_id": session.owner_id}
            )
    except IntegrityError:  # a concurrent run created it
        report = Report.objects.get(session=session, trigger=Report.Trigger.AUTO)
    if report.status == Report.Status.PENDING:
        # Enqueued again when a crash came between create and enqueue; the claim makes a
        # second generate run a no-op.
        _enqueue_generate(report.pk)
    return report


def _enqueue_generate(report_id: int) -> None:
    from .tasks import report_generate_task

    enqueue(report_generate_task, report_id)


# --------------------------------------------------------------------------- generation


class _Run:
    """One claimed run of a report: its row, the attempt number it owns, and its token use."""

    def __init__(self, report: Report, attempt: int) -> None:
        self.report, self.attempt = report, attempt
        self.calls = self.tokens_in = self.tokens_out = 0
        self.model = ""

    def ask(self, messages: list[dict[str, str]]) -> str:
        done = llm.chat_json(messages=messages, schema=SCHEMA, schema_name="session_report")
        self.calls += 1
        self.tokens_in += done.tokens_in
        self.tokens_out += done.tokens_out
        self.model = done.model
        return done.content

    def save(self, **fields: Any) -> bool:
        """Write fields if this run still holds the claim; token counts accumulate."""
        fields.setdefault("updated_at", timezone.now())
        if self.calls:
            fields.update(
                llm_calls=F("llm_calls") + self.calls,
                tokens_in=F("tokens_in") + self.tokens_in,
                tokens_out=F("tokens_out") + self.tokens_out,
            )
            self.calls = self.tokens_in = self.tokens_out = 0
        mine = Report.objects.filter(pk=self.report.pk, status=Report.Status.RUNNING, attempts=self.attempt)
        return mine.update(**fields) == 1


def report_generate(*, report_id: int) -> None:
    """Write a pending report; a report already claimed, written or failed is left alone."""
    run = _claim(report_id)
    if run is None:
        return
    try:
        facts = run.report.facts or report_facts(session=run.report.session)
        run.save(facts=facts)
        if not llm.llm_configured() or facts["best_lap"] is None:
            _write_facts_only(run, facts)
        else:
            _write_with_model(run, facts)
    except llm.LlmTransientError as exc:
        run.save(status=Report.Status.PENDING, error=str(exc))
        raise ReportTransientError(str(exc)) from exc
    except (llm.LlmPermanentError, ReportFormatError) as exc:
        run.save(status=Report.Status.FAILED, error=_readable(exc))
    except Exception:
        log.exception("report %s failed", report_id)
        run.save(status=Report.Status.FAILED, error="The report could not be written (internal error).")
        raise


def _claim(report_id: int) -> _Run | None:
    now = timezone.now()
    # A running report whose worker died long ago may be claimed again (never stuck).
    claimable = Q(status=Report.Status.PENDING) | Q(
        status=Report.Status.RUNNING, updated_at__lt=now - STALE_AFTER
    )
    updated = Report.objects.filter(claimable, pk=report_id).update(
        status=Report.Status.RUNNING, attempts=F("attempts") + 1, updated_at=now
    )
    if updated != 1:  # another run got there first, or the report is done
        return None
    report = Report.objects.select_related("session__track", "session__car").get(pk=report_id)
    return _Run(report, report.attempts)


def _readable(exc: Exception) -> str:
    if isinstance(exc, ReportFormatError):
        return f"The model's answer was not a usable report: {exc}."
    return f"The model could not write the report: {exc}."


def _write_facts_only(run: _Run, facts: dict[str, Any]) -> None:
    notice = None if facts["best_lap"] is not None else NO_LAPS_NOTICE
    sections = facts_only_report(facts, **({"notice": notice} if notice else {}))
    run.save(
        status=Report.Status.READY,
        source=Report.Source.FACTS_ONLY,
        model="",
        prompt_version=PROMPT_VERSION,
        sections=sections,
        flagged=[],
        error="",
    )


def _write_with_model(run: _Run, facts: dict[str, Any]) -> None:
    """Ask, check the text, ask once more with the problems listed, then store it grounded:
    numbers as fact ids the site renders, what could not be grounded stripped and flagged."""
    messages = messages_for(facts)
    content = run.ask(messages)
    try:
        sections = parse_report(content)
        problems = grounding_problems(sections, facts)
    except ReportFormatError as exc:
        problems = [str(exc)]
    if problems:
        log.info("report %s: asking again: %s", run.report.pk, problems)
        retry = [*messages, {"role": "assistant", "content": content}, correction_for(problems)]
        sections = parse_report(run.ask(retry))
    grounded, flagged = ground_report(sections, facts)
    _save_model_report(run, grounded, flagged)


def _save_model_report(run: _Run, sections: dict[str, Any], flagged: list[str]) -> None:
    report = run.report
    total_in = report.tokens_in + run.tokens_in
    total_out = report.tokens_out + run.tokens_out
    run.save(
        status=Report.Status.READY,
        source=Report.Source.OPENAI,
        model=run.model,
        prompt_version=PROMPT_VERSION,
        sections=sections,
        flagged=flagged,
        cost_usd=llm.cost_estimate_usd(model=run.model, tokens_in=total_in, tokens_out=total_out),
        error="",
    )


def report_fail(*, report_id: int, error: str) -> None:
    """Give up on a report the task could not write (retries used up); it shows a retry button."""
    Report.objects.filter(pk=report_id, status__in=[Report.Status.PENDING, Report.Status.RUNNING]).update(
        status=Report.Status.FAILED, error=error, updated_at=timezone.now()
    )


# --------------------------------------------------------------------------- facts


def report_facts(*, session: Session) -> dict[str, Any]:
    """The facts document of a session, from its laps and their traces, with the driver's
    corner history at this track and their focus corners (those this session reviewed —
    reviewing them may meet them — and those it proposes), in the units its driver saved (a
    worker has no browser to guess from: else the stored km/h, kPa, °C)."""
    # Fresh rows: the track's corner set may have been made after the caller loaded it.
    session = Session.objects.select_related("track", "car").get(pk=session.pk)
    facts = _session_facts(session)
    history = corner_history_for(
        owner_id=session.owner_id, track=session.track, car=session.car, until=session
    )
    facts["history"] = history_facts(history)
    reviewed = focus_session_review(session=session)
    proposed = focus_propose(session=session, opportunities=facts["opportunities"])
    units = units_for_user(user=session.owner) or STORED
    facts["focus"] = [  # in `units` already: facts_in_units leaves "focus" as it is
        *(focus_facts(f, session, new=False, units=units) for f in reviewed),
        *(focus_facts(f, session, new=True, units=units) for f in proposed),
    ]
    return facts_in_units(facts, units)


def _session_facts(session: Session) -> dict[str, Any]:
    laps = list(lap_list(session=session))
    rows = [lap_value(lap) for lap in laps]
    green = [lap for lap, row in zip(laps, rows, strict=True) if row.green]
    traces = {lap.number: _trace(lap) for lap in _laps_to_read(green)}
    facts = session_facts(
        SessionInput(
            track=session.track.name,
            car=session.car.name,
            car_class=session.car.car_class or "GT3",
            kind=session.kind,
            game=session.game,
            date=session.started_at.date().isoformat(),
            laps=rows,
            traces=traces,
            track_info=track_info(session.track),  # its corner set, the one every page names
            length_m=session.track.length_m,
        )
    )
    return facts


def _laps_to_read(green: list[Lap]) -> list[Lap]:
    # Memory stays bounded on a long race: the best lap plus the most recent others.
    if len(green) <= MAX_TRACES:
        return green
    fastest = best_lap(lap_value(lap) for lap in green)
    best = next(lap for lap in green if fastest is not None and lap.pk == fastest.key)
    recent = [lap for lap in green if lap != best][-(MAX_TRACES - 1) :]
    return [best, *recent]


def _trace(lap: Lap) -> Columns:
    return lap_trace(lap=lap, channels=TRACE_CHANNELS)
