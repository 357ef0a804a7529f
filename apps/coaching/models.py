from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

# A run that has held a report for this long died with its worker (a hard time limit, a
# killed process): the report may be claimed again. Longer than CELERY_TASK_TIME_LIMIT.
STALE_AFTER = dt.timedelta(minutes=6)


class Report(models.Model):
    """A post-session report: the facts it was written from, the text, and what it cost."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        READY = "ready"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        AUTO = "auto"  # written when the session ended; at most one per session
        MANUAL = "manual"  # asked for on the session page

    class Source(models.TextChoices):
        OPENAI = "openai"
        FACTS_ONLY = "facts-only"

    session = models.ForeignKey("racing_sessions.Session", on_delete=models.CASCADE, related_name="reports")
    # One request, one report: a double-submitted form or a redelivered task finds this row.
    request_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(max_length=12, choices=Source.choices, blank=True)
    model = models.CharField(max_length=100, blank=True)
    prompt_version = models.CharField(max_length=20, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="runs that claimed this report")
    llm_calls = models.PositiveSmallIntegerField(default=0)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=6, null=True, blank=True)
    facts = models.JSONField(
        default=dict, blank=True, help_text="the facts document the text was written from"
    )
    sections = models.JSONField(
        default=dict, blank=True, help_text="summary, opportunities, tyres, brakes, fuel, consistency, plan"
    )
    flagged = models.JSONField(default=list, blank=True, help_text="numbers removed: not found in the facts")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"], condition=models.Q(trigger="auto"), name="report_one_auto_per_session"
            ),
        ]
        indexes = [models.Index(fields=["session", "-created_at"])]

    def __str__(self) -> str:
        return f"Report {self.pk} of session {self.session_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        """Pending or running, and not abandoned by a dead worker."""
        in_flight = self.status in (self.Status.PENDING, self.Status.RUNNING)
        return in_flight and timezone.now() - self.updated_at < STALE_AFTER


class FocusCorner(models.Model):
    """A corner the driver works on across sessions, with a concrete target.

    Proposed by a session report; reviewed by each later session's report (numbers kept in
    `reviews`, by session id); met when the target holds on FOCUS_LAPS_TO_MEET green laps of
    one session, or closed by the driver.
    """

    class Kind(models.TextChoices):
        BRAKE = "brake", "braking point"  # brake at or after `target` m
        MIN_SPEED = "min_speed", "minimum speed"  # at least `target` km/h at the slowest point

    class Status(models.TextChoices):
        OPEN = "open"
        MET = "met"
        CLOSED = "closed"  # closed by the driver

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="focus_corners"
    )
    track = models.ForeignKey("racing_sessions.Track", on_delete=models.CASCADE)
    car = models.ForeignKey("racing_sessions.Car", on_delete=models.CASCADE)
    corner = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    target = models.FloatField(help_text="m (braking point) or km/h (minimum speed)")
    baseline = models.FloatField(help_text="the median in the session that proposed it")
    opened_in = models.ForeignKey("racing_sessions.Session", on_delete=models.CASCADE, related_name="+")
    closed_in = models.ForeignKey(
        "racing_sessions.Session", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    reviews = models.JSONField(default=dict, blank=True, help_text="{session id: numbers of that session}")
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "track", "car", "corner"],
                condition=models.Q(status="open"),
                name="focus_one_open_per_corner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.corner}: {self.get_kind_display()} {self.target:g}"

    @property
    def unit(self) -> str:
        return "m" if self.kind == self.Kind.BRAKE else "km/h"


class Cue(models.Model):
    """A short text pinned to a lap distance, from a live session: the rig's agent says it
    `lead_s` seconds before the car reaches `at_m`, every lap (or once), until removed, in
    that session and the driver's later sessions on the same track and car.

    The delivery facts are the server's own clock at both ends (no skew with the rig's):
    `sent_at` when the rig socket sent it, `delivered_at` when the agent's ack arrived.
    """

    class Repeat(models.TextChoices):
        EVERY_LAP = "every_lap", "every lap"
        ONCE = "once", "once"

    class Via(models.TextChoices):
        LIVE = "live", "live page"  # the driver, on their own live page or the API
        SHARE = "share", "share link"  # a coach holding the driver's share link
        TEAM = "team", "team"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cues")
    session = models.ForeignKey("racing_sessions.Session", on_delete=models.CASCADE, related_name="cues")
    author = models.CharField(max_length=80, help_text="shown with the cue: the driver, or the link's label")
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=5, choices=Via.choices)
    at_m = models.FloatField(help_text="lap distance of the point, m")
    label = models.CharField(max_length=40, blank=True, help_text="the corner it is at, if one was chosen")
    text = models.CharField(max_length=80)
    lead_s = models.FloatField(default=3.0, help_text="seconds before the point to say it")
    repeat = models.CharField(max_length=9, choices=Repeat.choices, default=Repeat.EVERY_LAP)
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    spoken_at = models.DateTimeField(null=True, blank=True)
    spoken_lap = models.PositiveIntegerField(null=True, blank=True)
    spoken_before_m = models.FloatField(null=True, blank=True)
    spoken_speed_kmh = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["at_m", "pk"]
        indexes = [models.Index(fields=["session", "removed_at"], name="cue_session_active")]

    def __str__(self) -> str:
        return f"{self.text} @ {self.at_m:.0f} m"

    @property
    def delivery_ms(self) -> float | None:
        if self.sent_at is None or self.delivered_at is None:
            return None
        return (self.delivered_at - self.sent_at).total_seconds() * 1000.0
