from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import Session


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    sessions = Session.objects.filter(owner=request.user).select_related("track", "car")
    page = Paginator(sessions, 25).get_page(request.GET.get("page"))
    return render(request, "sessions/list.html", {"page": page})
