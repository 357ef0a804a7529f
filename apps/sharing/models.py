"""Read-only access to a rig's live view or one session, and what coaches do with it.

These tables were made by apps.accounts (0002) and keep their names: moving the models here
moved no data (accounts 0003 / sharing 0001).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone


class ShareLink(models.Model):
    """Read-only access for whoever holds the link's token: one rig's live view, or one session.

    Like rig tokens, only a SHA-256 of the token is stored; the owner sees the URL once.
    """

    class Kind(models.TextChoices):
        LIVE_RIG = "live_rig", "Live view of a rig"
        SESSION = "session", "One session"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="share_links")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    rig = models.ForeignKey(
        "accounts.Rig", null=True, blank=True, on_delete=models.CASCADE, related_name="share_links"
    )
    session = models.ForeignKey(
        "racing_sessions.Session", null=True, blank=True, on_delete=models.CASCADE, related_name="share_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    token_hint = models.CharField(max_length=8, help_text="Last characters of the token, to tell links apart")
    label = models.CharField(
        max_length=80, blank=True, help_text="Who it is for; shown as the author of notes"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires")
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "accounts_sharelink"
        ordering = ["-created_at"]
        constraints = [
            # A link names exactly one thing, so it can never widen to more than that.
            models.CheckConstraint(
                condition=(
                    models.Q(kind="live_rig", rig__isnull=False, session__isnull=True)
                    | models.Q(kind="session", session__isnull=False, rig__isnull=True)
                ),
                name="sharelink_names_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.label or 'anyone'} ({self.owner})"

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires_at is not None and (now or timezone.now()) >= self.expires_at

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class CoachedDriver(models.Model):
    """A share link a logged-in coach saved, so the driver stays one click away."""

    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coached_drivers"
    )
    share_link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="coaches")
    nickname = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "accounts_coacheddriver"
        ordering = ["nickname", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["coach", "share_link"], name="coached_driver_unique_link")
        ]

    def __str__(self) -> str:
        return f"{self.nickname or self.share_link_id} (coached by {self.coach})"


class CoachNote(models.Model):
    """A note a coach sent to the driver during a live session (kept for the archive): through
    a share link (its holder, or a coach who saved it), or as a coach of the driver's team."""

    share_link = models.ForeignKey(
        ShareLink, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    # A team coach's note: who sent it, in which team (kept when the team or coach goes).
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    session = models.ForeignKey(
        "racing_sessions.Session", on_delete=models.CASCADE, related_name="coach_notes"
    )
    author = models.CharField(max_length=80)
    text = models.CharField(max_length=280)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "accounts_coachnote"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.author}: {self.text[:40]}"
