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
    # Conditions, where the game gives them: the median of the analysed laps' averages, in °C
    # (what a leaderboard filters on; a lap time on a 45 °C track is not one on a 15 °C track).
    air_temp_c = models.FloatField(null=True, blank=True)
    track_temp_c = models.FloatField(null=True, blank=True)
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


class Import(models.Model):
    """One uploaded lap file on its way to a Session: received in chunks, then run by a worker.

    The file itself lives on disk (settings.IMPORT_UPLOAD_DIR, see services_import_jobs) only
    while the import is uploading, queued or running; the row keeps the outcome for the page.
    """

    class State(models.TextChoices):
        UPLOADING = "uploading"  # chunks still arriving
        QUEUED = "queued"  # the whole file is here; waiting for a worker
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="imports")
    rig = models.ForeignKey("accounts.Rig", null=True, blank=True, on_delete=models.SET_NULL)
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField(help_text="bytes the client announced")
    received = models.BigIntegerField(default=0, help_text="bytes stored so far")
    meta = models.JSONField(default=dict, blank=True, help_text="game, track, car, kind as given")
    has_ldx = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.UPLOADING)
    progress = models.FloatField(default=0.0, help_text="0-1 while running")
    phase = models.CharField(max_length=60, blank=True)
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.BooleanField(default=False, help_text="False: the file was imported before")
    laps = models.IntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    missing = models.JSONField(default=list, blank=True, help_text="fields the file does not say")
    retryable = models.BooleanField(default=False, help_text="failed for the server's sake, not the file's")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return f"import {self.pk} {self.filename} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)
