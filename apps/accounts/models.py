from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone


class Rig(models.Model):
    """A paired agent. Only a SHA-256 of its token is stored: a leaked database leaks no token."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rigs")
    name = models.CharField(max_length=80)
    token_hash = models.CharField(max_length=64, unique=True)
    token_hint = models.CharField(max_length=8, help_text="Last characters of the token, to tell rigs apart")
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_game = models.CharField(max_length=16, blank=True)
    agent_version = models.CharField(max_length=32, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class DeviceAuthorization(models.Model):
    """One RFC 8628 device-code grant, from the agent's request to its token (or refusal)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DENIED = "denied"
        CONSUMED = "consumed"  # the agent collected its token; the codes are dead

    device_code_hash = models.CharField(max_length=64, unique=True)
    user_code = models.CharField(max_length=9, unique=True)  # XXXX-XXXX
    client_name = models.CharField(max_length=80)
    agent_version = models.CharField(max_length=32, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    rig = models.ForeignKey(Rig, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    interval_s = models.PositiveSmallIntegerField(default=5)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    rig_name = models.CharField(max_length=80, blank=True)

    def __str__(self) -> str:
        return f"{self.user_code} ({self.status})"

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.expires_at


class ShareLink(models.Model):
    """Read-only access for whoever holds the link's token: one rig's live view, or one session.

    Like rig tokens, only a SHA-256 of the token is stored; the owner sees the URL once.
    """

    class Kind(models.TextChoices):
        LIVE_RIG = "live_rig", "Live view of a rig"
        SESSION = "session", "One session"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="share_links")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    rig = models.ForeignKey(Rig, null=True, blank=True, on_delete=models.CASCADE, related_name="share_links")
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
        ordering = ["nickname", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["coach", "share_link"], name="coached_driver_unique_link")
        ]

    def __str__(self) -> str:
        return f"{self.nickname or self.share_link_id} (coached by {self.coach})"


class CoachNote(models.Model):
    """A note a share viewer sent to the driver during a live session (kept for the archive)."""

    share_link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="notes")
    session = models.ForeignKey(
        "racing_sessions.Session", on_delete=models.CASCADE, related_name="coach_notes"
    )
    author = models.CharField(max_length=80)
    text = models.CharField(max_length=280)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.author}: {self.text[:40]}"


class SignupInvite(models.Model):
    """One account's worth of sign-up when SIGNUP=invite. Only a SHA-256 of its token is kept;
    whoever creates it (an admin, or `manage.py create_signup_invite`) sees the link once."""

    token_hash = models.CharField(max_length=64, unique=True)
    token_hint = models.CharField(
        max_length=8, help_text="Last characters of the token, to tell invites apart"
    )
    note = models.CharField(max_length=80, blank=True, help_text="Who it is for")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_by = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="signup_invite",
    )
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invite …{self.token_hint} for {self.note or 'anyone'}"

    def is_usable(self, now: dt.datetime | None = None) -> bool:
        return self.used_at is None and (now or timezone.now()) < self.expires_at
