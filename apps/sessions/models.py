from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Track(models.Model):
    name = models.CharField(max_length=120)
    game = models.CharField(max_length=16)
    length_m = models.FloatField(null=True, blank=True)
    corners = models.JSONField(default=list, blank=True, help_text="[{name, start_m, apex_m, end_m}]")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["game", "name"], name="track_unique_per_game")]

    def __str__(self) -> str:
        return self.name


class Car(models.Model):
    name = models.CharField(max_length=120)
    game = models.CharField(max_length=16)
    car_class = models.CharField("class", max_length=40, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["game", "name"], name="car_unique_per_game")]

    def __str__(self) -> str:
        return self.name


class Session(models.Model):
    class Kind(models.TextChoices):
        PRACTICE = "practice"
        QUALIFYING = "qualifying"
        RACE = "race"
        HOTLAP = "hotlap"

    class State(models.TextChoices):
        LIVE = "live"
        ENDED = "ended"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="racing_sessions"
    )
    rig = models.ForeignKey("accounts.Rig", null=True, blank=True, on_delete=models.SET_NULL)
    game = models.CharField(max_length=16)
    track = models.ForeignKey(Track, on_delete=models.PROTECT)
    car = models.ForeignKey(Car, on_delete=models.PROTECT)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.PRACTICE)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=6, choices=State.choices, default=State.LIVE)
    # The agent's own id for the session: a reconnecting agent resumes the same row.
    agent_uid = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=16, default="live", help_text="live, or the import format")
    content_hash = models.CharField(max_length=64, blank=True, help_text="imports: sha256 of the file")
    # Highest sequence number durably in the trace store; frames at or below it are duplicates.
    last_seq = models.BigIntegerField(default=-1)
    frame_count = models.BigIntegerField(default=0)
    last_frame_at = models.DateTimeField(null=True, blank=True)
    # Lap segmentation state, saved with every stored batch so a reconnect resumes exactly.
    live_state = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "agent_uid"],
                condition=~models.Q(agent_uid=""),
                name="session_unique_agent_uid",
            ),
            # Two uploads of one file racing each other: the second insert fails, not duplicates.
            models.UniqueConstraint(
                fields=["owner", "content_hash"],
                condition=~models.Q(content_hash=""),
                name="session_unique_import",
            ),
        ]
        indexes = [models.Index(fields=["owner", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.track} · {self.car} · {self.started_at:%Y-%m-%d %H:%M}"


class Lap(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="laps")
    number = models.PositiveIntegerField()
    time_ms = models.PositiveIntegerField(null=True, blank=True)
    sector_ms = models.JSONField(default=list, blank=True)
    valid = models.BooleanField(default=True)
    is_in_lap = models.BooleanField(default=False)
    is_out_lap = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    # Trace bounds: seconds since the epoch, as stored in the trace store's `t`.
    t_start = models.FloatField()
    t_end = models.FloatField()
    fuel_used_l = models.FloatField(null=True, blank=True)
    stats = models.JSONField(default=dict, blank=True, help_text="averages: tyre temps, max speed, ...")
    is_reference = models.BooleanField(default=False)

    class Meta:
        ordering = ["session", "number"]
        constraints = [models.UniqueConstraint(fields=["session", "number"], name="lap_unique_number")]

    def __str__(self) -> str:
        return f"Lap {self.number} of {self.session_id}"
