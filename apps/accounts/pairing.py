"""RFC 8628 device authorization for rigs: the agent asks, the driver approves on the site.

Services and selectors of the pairing flow, kept apart from services.py for their size.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from .lib.tokens import token_hash
from .models import DeviceAuthorization, Rig
from .services import rig_create

# RFC 8628 §6.1: consonants only, so no vowels spell words and nothing looks like 0/O or 1/I.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
EXPIRES_S = 600  # the RFC suggests minutes; the issue caps it at 15
POLL_INTERVAL_S = 5
SLOW_DOWN_STEP_S = 5


class PairingError(Exception):
    """An RFC 8628 error code (`authorization_pending`, `slow_down`, ...) for the token endpoint."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


@dataclass
class DeviceGrant:
    auth: DeviceAuthorization
    device_code: str


def user_code_normalise(raw: str) -> str:
    """Accept what people type: any case, spaces or dashes; return the stored XXXX-XXXX form."""
    letters = "".join(ch for ch in raw.upper() if ch.isalnum())
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == 8 else letters


def device_authorization_start(*, client_name: str, agent_version: str, client_ip: str | None) -> DeviceGrant:
    device_code = secrets.token_urlsafe(32)
    for _ in range(5):  # a user-code collision among live codes is rare; draw again
        code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
        user_code = f"{code[:4]}-{code[4:]}"
        if not DeviceAuthorization.objects.filter(user_code=user_code).exists():
            break
    auth = DeviceAuthorization.objects.create(
        device_code_hash=token_hash(device_code),
        user_code=user_code,
        client_name=client_name.strip()[:80] or "rig",
        agent_version=agent_version.strip()[:32],
        client_ip=client_ip,
        expires_at=timezone.now() + dt.timedelta(seconds=EXPIRES_S),
        interval_s=POLL_INTERVAL_S,
    )
    return DeviceGrant(auth=auth, device_code=device_code)


def device_authorization_get_pending(*, user_code: str) -> DeviceAuthorization | None:
    """A code the driver may still approve: known, pending and not expired."""
    auth = DeviceAuthorization.objects.filter(user_code=user_code_normalise(user_code)).first()
    if auth is None or auth.status != DeviceAuthorization.Status.PENDING or auth.is_expired():
        return None
    return auth


def device_authorization_decide(
    *, auth: DeviceAuthorization, user: User, approve: bool, rig_name: str = ""
) -> bool:
    """Approve or deny once; a code already decided (or expired) is left alone."""
    status = DeviceAuthorization.Status.APPROVED if approve else DeviceAuthorization.Status.DENIED
    updated = DeviceAuthorization.objects.filter(
        pk=auth.pk, status=DeviceAuthorization.Status.PENDING, expires_at__gt=timezone.now()
    ).update(status=status, user=user, rig_name=(rig_name.strip() or auth.client_name)[:80])
    return updated == 1


def device_token_poll(*, device_code: str) -> tuple[Rig, str]:
    """The agent's poll: the rig and its token once approved, else an RFC 8628 error."""
    with transaction.atomic():
        qs = DeviceAuthorization.objects.select_for_update().filter(device_code_hash=token_hash(device_code))
        auth = qs.first()
        if auth is None:
            raise PairingError("invalid_grant", "unknown device code")
        now = timezone.now()
        too_fast = (
            auth.last_polled_at is not None and (now - auth.last_polled_at).total_seconds() < auth.interval_s
        )
        auth.last_polled_at = now
        if too_fast and auth.status == DeviceAuthorization.Status.PENDING:
            auth.interval_s += SLOW_DOWN_STEP_S
        auth.save(update_fields=["last_polled_at", "interval_s"])
        try:
            return _poll_outcome(auth, now, too_fast)
        except PairingError as exc:
            error = exc  # commit the poll bookkeeping, then report
    raise error


def _poll_outcome(auth: DeviceAuthorization, now: dt.datetime, too_fast: bool) -> tuple[Rig, str]:
    status = DeviceAuthorization.Status
    if auth.status == status.CONSUMED:
        raise PairingError("invalid_grant", "this code was already used; run `simcoach-agent pair` again")
    if auth.status == status.DENIED:
        raise PairingError("access_denied", "the pairing request was denied on the site")
    if auth.is_expired(now):
        raise PairingError("expired_token", "the code expired; run `simcoach-agent pair` again")
    if auth.status == status.PENDING:
        if too_fast:
            raise PairingError("slow_down", f"poll at most every {auth.interval_s} s")
        raise PairingError("authorization_pending", "waiting for the driver to approve the code")
    assert auth.user is not None
    rig, token = rig_create(owner=auth.user, name=auth.rig_name or auth.client_name)
    rig.agent_version = auth.agent_version
    rig.save(update_fields=["agent_version"])
    auth.status, auth.rig = status.CONSUMED, rig
    auth.save(update_fields=["status", "rig"])
    return rig, token
