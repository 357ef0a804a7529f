from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from simcoach_site.lib.auth import request_user
from simcoach_site.lib.client import client_ip, ip_bucket
from simcoach_site.lib.ratelimit import attempt, attempt_all, refund
from simcoach_site.lib.units import units_make

from .forms import UnitsForm
from .pairing import device_authorization_decide, device_authorization_get_pending
from .selectors import (
    rig_get_for_user,
    rig_list,
    rig_pairings_waiting,
    signup_invite_get_usable,
    units_for_request,
    units_for_user,
)
from .services import InviteRefused, rig_rename, rig_revoke, unit_preference_set, user_signup

SIGNUPS_PER_IP = 10  # sign-up form posts per address per hour (each may create an account)
SIGNUP_WINDOW_S = 3600


def signup(request: HttpRequest) -> HttpResponse:
    """Create an account, as settings.SIGNUP allows: open, with an invite, or not at all."""
    if settings.SIGNUP == "closed":
        return render(request, "accounts/signup_closed.html", status=403)
    invite_token = (request.POST.get("invite") or request.GET.get("invite") or "").strip()
    if settings.SIGNUP == "invite" and signup_invite_get_usable(token=invite_token) is None:
        return render(
            request, "accounts/signup_closed.html", {"invite_refused": bool(invite_token)}, status=403
        )
    form: UserCreationForm[User] = UserCreationForm(request.POST or None)
    if request.method == "POST":
        if not attempt(
            f"signup-ip:{ip_bucket(client_ip(request))}", limit=SIGNUPS_PER_IP, window_s=SIGNUP_WINDOW_S
        ):
            return render(request, "accounts/too_many.html", {"what": "sign-ups"}, status=429)
        if form.is_valid():
            try:
                user = user_signup(
                    form=form, invite_token=invite_token if settings.SIGNUP == "invite" else None
                )
            except InviteRefused as exc:
                return render(
                    request, "accounts/signup_closed.html", {"invite_refused": str(exc)}, status=403
                )
            login(request, user)
            messages.success(request, "Welcome to SimCoach. Pair your rig to start streaming.")
            return redirect("rigs")
    return render(request, "accounts/signup.html", {"form": form, "invite": invite_token})


@login_required
def rigs(request: HttpRequest) -> HttpResponse:
    """My rigs; ``?partial=1``: only the rows, which rigs.js re-reads while a pairing that was
    just approved waits for its agent to collect the token (the rig exists only from then on)."""
    context = {"rigs": rig_list(user=request.user), "waiting": rig_pairings_waiting(user=request.user)}
    template = "accounts/_rig_rows.html" if request.GET.get("partial") == "1" else "accounts/rigs.html"
    return render(request, template, context)


@login_required
@require_POST
def rig_rename_view(request: HttpRequest, rig_id: int) -> HttpResponse:
    rig = rig_get_for_user(user=request.user, rig_id=rig_id)
    rig_rename(rig=rig, name=request.POST.get("name", ""))
    messages.success(request, f"Renamed to {rig.name}.")
    return redirect("rigs")


@login_required
@require_POST
def rig_revoke_view(request: HttpRequest, rig_id: int) -> HttpResponse:
    rig = rig_get_for_user(user=request.user, rig_id=rig_id)
    rig_revoke(rig=rig)
    messages.success(request, f"{rig.name} is revoked; its agent is disconnected.")
    return redirect("rigs")


@login_required
def units_view(request: HttpRequest) -> HttpResponse:
    """Choose display units; before the first save the form shows the browser's default."""
    form = UnitsForm(request.POST or None, initial=units_for_request(request).as_dict())
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "accounts/units.html", {"form": form, "chosen": False}, status=400)
        unit_preference_set(user=request_user(request), units=units_make(**form.cleaned_data))
        messages.success(request, "Units saved: every page, report and export uses them now.")
        return redirect("units")
    chosen = units_for_user(user=request.user) is not None
    return render(request, "accounts/units.html", {"form": form, "chosen": chosen})


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("live")
    return render(request, "home.html")


PAIR_FAILS_PER_USER = 5  # wrong codes per user per 15 minutes (RFC 8628 §5.1 brute force)
PAIR_FAILS_PER_IP = 20
PAIR_WINDOW_S = 900


@login_required
def pair(request: HttpRequest) -> HttpResponse:
    """Pair a rig: enter the agent's code, see which agent asks, approve or deny."""
    code = (request.POST.get("code") or request.GET.get("code") or "").strip()
    if not code:
        return render(request, "accounts/pair.html", {})
    # Every look-up is counted before it is made and given back when the code was right, so
    # parallel guesses cannot all slip in under the limit.
    keys = [
        (f"pair-user:{request.user.pk}", PAIR_FAILS_PER_USER),
        (f"pair-ip:{ip_bucket(client_ip(request))}", PAIR_FAILS_PER_IP),
    ]
    if not attempt_all(keys, window_s=PAIR_WINDOW_S):
        return render(
            request, "accounts/pair.html", {"error": "Too many wrong codes. Wait 15 minutes."}, status=429
        )
    auth = device_authorization_get_pending(user_code=code)
    if auth is not None:
        for key, _ in keys:
            refund(key)
    if auth is None:
        error = "That code is wrong, expired or already used. Run `simcoach-agent pair` again for a new one."
        return render(request, "accounts/pair.html", {"error": error, "code": code}, status=400)
    decision = request.POST.get("decision")
    if request.method != "POST" or decision not in ("approve", "deny"):
        return render(request, "accounts/pair.html", {"auth": auth})
    approve = decision == "approve"
    device_authorization_decide(
        auth=auth, user=request_user(request), approve=approve, rig_name=request.POST.get("name", "")
    )
    messages.success(
        request, "Rig approved: the agent is collecting its token." if approve else "Pairing denied."
    )
    return redirect("rigs")


# Wrong passwords are counted per (username, address) and per address, never per username alone:
# a per-username lock lets anyone lock the real user out from anywhere (10 wrong passwords and
# the account was shut for 15 minutes). Here an attacker on one address gets 10 guesses at one
# account and 50 in all per window, while the real user, on another address, logs in as usual.
# A distributed attacker gets 10 guesses per address they own: the password validators (length,
# common passwords) are what makes that budget worthless.
LOGIN_FAILS_PER_USER_IP = 10
LOGIN_FAILS_PER_IP = 50
LOGIN_WINDOW_S = 900


def login_attempt_keys(request: HttpRequest) -> list[tuple[str, int]]:
    username = str(request.POST.get("username", "")).strip().lower()[:150]
    # Hashed: a cache key must be short and plain (no spaces), and Redis need not hold usernames.
    user_key = hashlib.sha256(username.encode()).hexdigest()[:32]
    ip = ip_bucket(client_ip(request))
    return [
        (f"login-user-ip:{user_key}|{ip}", LOGIN_FAILS_PER_USER_IP),
        (f"login-ip:{ip}", LOGIN_FAILS_PER_IP),
    ]


def login_limited(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wrap a login view (the site's or the admin's): every POST is counted before the password
    is checked, and given back if it was right (login views redirect only on success)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        keys = login_attempt_keys(request)
        if not attempt_all(keys, window_s=LOGIN_WINDOW_S):
            return render(request, "accounts/too_many.html", {"what": "failed logins"}, status=429)
        response = view(request, *args, **kwargs)
        if response.status_code == 302 and request.user.is_authenticated:
            for key, _ in keys:
                refund(key)
        return response

    return wrapped


site_login = login_limited(LoginView.as_view())
admin_login = login_limited(admin.site.login)
