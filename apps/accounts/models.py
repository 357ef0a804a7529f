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


class UnitPreference(models.Model):
    """The units one user reads speeds, pressures and temperatures in (simcoach_site/lib/units.py).

    No row means "not chosen yet": pages then use the browser's locale (`units_for_request`)."""

    class Speed(models.TextChoices):
        KMH = "km/h"
        MPH = "mph"

    class Pressure(models.TextChoices):
        KPA = "kPa"
        PSI = "psi"
        BAR = "bar"

    class Temperature(models.TextChoices):
        CELSIUS = "°C"
        FAHRENHEIT = "°F"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="units")
    speed = models.CharField(max_length=8, choices=Speed.choices, default=Speed.KMH)
    pressure = models.CharField(max_length=8, choices=Pressure.choices, default=Pressure.BAR)
    temperature = models.CharField(max_length=8, choices=Temperature.choices, default=Temperature.CELSIUS)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user}: {self.speed}, {self.pressure}, {self.temperature}"
