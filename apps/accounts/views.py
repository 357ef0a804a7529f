from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .selectors import rig_get_for_user, rig_list
from .services import rig_rename, rig_revoke


def signup(request: HttpRequest) -> HttpResponse:
    form = UserCreationForm(request.POST or None)
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
