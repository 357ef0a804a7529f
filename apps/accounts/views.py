from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from simcoach_site.lib.auth import request_user
from simcoach_site.lib.ratelimit import count, limited

from .pairing import device_authorization_decide, device_authorization_get_pending
from .selectors import rig_get_for_user, rig_list
from .services import rig_rename, rig_revoke


def signup(request: HttpRequest) -> HttpResponse:
    form: UserCreationForm[User] = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        messages.success(request, "Welcome to SimCoach. Pair your rig to start streaming.")
        return redirect("rigs")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
def rigs(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/rigs.html", {"rigs": rig_list(user=request.user)})


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
    keys = (f"pair-user:{request.user.pk}", f"pair-ip:{request.META.get('REMOTE_ADDR')}")
    if limited(keys[0], limit=PAIR_FAILS_PER_USER) or limited(keys[1], limit=PAIR_FAILS_PER_IP):
        return render(
            request, "accounts/pair.html", {"error": "Too many wrong codes. Wait 15 minutes."}, status=429
        )
    if not code:
        return render(request, "accounts/pair.html", {})
    auth = device_authorization_get_pending(user_code=code)
    if auth is None:
        for key in keys:
            count(key, window_s=PAIR_WINDOW_S)
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


LOGIN_FAILS_PER_USERNAME = 10
LOGIN_FAILS_PER_IP = 50
LOGIN_WINDOW_S = 900


class RateLimitedLoginView(LoginView):
    """Django's login with a brake on password guessing, per username and per address."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if any(limited(key, limit=lim) for key, lim in self._keys(request)):
            form = self.get_form()
            form.add_error(None, "Too many failed logins. Wait 15 minutes and try again.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        for key, _ in self._keys(self.request):
            count(key, window_s=LOGIN_WINDOW_S)
        return super().form_invalid(form)

    @staticmethod
    def _keys(request: HttpRequest) -> list[tuple[str, int]]:
        username = str(request.POST.get("username", "")).strip().lower()[:150]
        return [
            (f"login-user:{username}", LOGIN_FAILS_PER_USERNAME),
            (f"login-ip:{request.META.get('REMOTE_ADDR')}", LOGIN_FAILS_PER_IP),
        ]
