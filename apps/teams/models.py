"""Teams: who is in one, what each driver shares with it, invitations, chosen reference laps.

Privacy by default: a membership shares nothing until the driver says so (per team, a default
for their sessions, and per session an explicit share or hide that beats the default).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone


class Team(models.Model):
    name = models.CharField(max_length=80)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    COACH = "coach", "Coach"
    DRIVER = "driver", "Driver"


# Who may invite, remove members and revoke invitations.
MANAGING_ROLES = (Role.OWNER, Role.MANAGER)
# Who coaches the team's drivers: watches what they share live and sends them notes
# (apps/sharing/access.py); a member with the driver role sees the shared archive only.
COACHING_ROLES = (Role.OWNER, Role.MANAGER, Role.COACH)


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.DRIVER)
    # Sessions without an explicit SessionShare row follow this; off until the driver turns it on.
    share_by_default = models.BooleanField(default=False)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "joined_at"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_user"),
            # One owner per team: transfer swaps roles in one transaction.
            models.UniqueConstraint(fields=["team"], condition=models.Q(role="owner"), name="team_one_owner"),
        ]
        indexes = [models.Index(fields=["user", "team"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGING_ROLES


class SessionShare(models.Model):
    """A driver's explicit choice for one session in one team: shared or hidden."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="session_shares")
    session = models.ForeignKey(
        "racing_sessions.Session", on_delete=models.CASCADE, related_name="team_shares"
    )
    shared = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "team"], name="session_share_unique")]
        indexes = [models.Index(fields=["team", "session"])]

    def __str__(self) -> str:
        return f"{self.session_id} {'shared with' if self.shared else 'hidden from'} {self.team_id}"


class Invitation(models.Model):
    """A way into a team: a link (anyone holding the token, until expiry or revoke) or a
    username (that user only, once). Only a SHA-256 of a link's token is stored."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.DRIVER)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    invited_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="team_invitations",
    )
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    token_hint = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(token_hash__isnull=False, invited_user__isnull=True)
                | models.Q(token_hash__isnull=True, invited_user__isnull=False),
                name="invitation_link_or_user",
            ),
            models.CheckConstraint(condition=~models.Q(role="owner"), name="invitation_never_owner"),
        ]

    def __str__(self) -> str:
        return f"Invitation to {self.team} ({self.invited_user or 'link'})"

    def is_usable(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        used_up = self.invited_user_id is not None and self.accepted_at is not None
        return self.revoked_at is None and now < self.expires_at and not used_up


class LiveReference(models.Model):
    """The lap a driver chose as the live delta's reference on a track and car (their own or
    a team mate's); read through `events.live_reference`, re-checked for access each time."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_references"
    )
    track = models.ForeignKey("racing_sessions.Track", on_delete=models.CASCADE, related_name="+")
    car = models.ForeignKey("racing_sessions.Car", on_delete=models.CASCADE, related_name="+")
    lap = models.ForeignKey("racing_sessions.Lap", on_delete=models.CASCADE, related_name="+")
    chosen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "track", "car"], name="live_reference_unique")]

    def __str__(self) -> str:
        return f"{self.user}: lap {self.lap_id} on {self.track_id}/{self.car_id}"


class SiteLeaderboardOptIn(models.Model):
    """A driver who lists their best laps on the site-wide leaderboard (when the site has one)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} on the site leaderboard"


class SessionBest(models.Model):
    """A session's best green lap (by `apps.sessions.lib.stats.best_lap`), kept as laps are stored.

    Every leaderboard filter (track, car, class, game, kind, period, who shared it) is a fact
    of the session, so a driver's best on a board is the fastest of their sessions' bests:
    the board reads one row per session instead of every lap (bench/leaderboard.py)."""

    session = models.OneToOneField(
        "racing_sessions.Session", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    lap = models.ForeignKey("racing_sessions.Lap", on_delete=models.CASCADE, related_name="+")
    time_ms = models.PositiveIntegerField()
    number = models.PositiveIntegerField()  # the lap's number: the earlier lap wins a tie
    set_at = models.DateTimeField()  # when the lap ended: across sessions, the earlier wins a tie

    def __str__(self) -> str:
        return f"best of session {self.session_id}: lap {self.lap_id}"
