"""The import page (/import/) and API (POST /api/imports/): parse the upload, call session_import.

Uploads above FILE_UPLOAD_MAX_MEMORY_SIZE arrive as temp files on disk and the importer reads
them from there; a request above IMPORT_MAX_BYTES is refused from its Content-Length before
its body is read.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import RigTokenAuthentication
from apps.accounts.models import Rig
from simcoach_agent.sizes import megabytes

from .models import Session
from .services_import import ImportRejected, ImportStoreFailed, session_import

LDX_MAX_BYTES = 4 * 1024 * 1024  # an .ldx sidecar is a few KB of XML
GAME_SUGGESTIONS = ("acc", "ac", "ams2", "iracing", "lmu", "r3e", "rf2")


class ImportMetaForm(forms.Form):
    game = forms.CharField(max_length=16, required=False)
    track = forms.CharField(max_length=120, required=False)
    car = forms.CharField(max_length=120, required=False)
    kind = forms.ChoiceField(choices=[("", "—"), *Session.Kind.choices], required=False)


def too_big(request: HttpRequest) -> str | None:
    """The error for a request over IMPORT_MAX_BYTES, judged before its body is read."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.IMPORT_MAX_BYTES
    if length > limit:
        return f"the upload is {megabytes(length)}; the limit is {megabytes(limit)} (IMPORT_MAX_BYTES)"
    return None


def import_one(
    *, user: Any, upload: UploadedFile, ldx: bytes | None, meta: dict[str, str], rig_id: int | None
) -> dict[str, Any]:
    """Import one uploaded file; the result (or error) as the API and the page show it."""
    name = upload.name or "upload"
    if upload.size is not None and upload.size > settings.IMPORT_MAX_BYTES:
        return {
            "file": name,
            "error": f"{name}: larger than the {megabytes(settings.IMPORT_MAX_BYTES)} limit",
            "status": 413,
        }
    if upload.file is None:
        return {"file": name, "error": f"{name}: the upload arrived empty", "status": 400}
    try:
        outcome = session_import(
            owner=user, fileobj=upload.file, filename=name, ldx=ldx, rig_id=rig_id, **_given(meta)
        )
    except ImportRejected as exc:
        return {"file": name, "error": str(exc), "missing": exc.missing, "status": 400}
    except ImportStoreFailed as exc:
        return {"file": name, "error": str(exc), "status": 503}
    session = outcome.session
    return {
        "file": name,
        "session_id": session.pk,
        "created": outcome.created,
        "laps": outcome.laps,
        "warnings": outcome.warnings,
        "url": f"{settings.URL_PREFIX}/sessions/{session.pk}/",
        "label": str(session),
        "status": 201 if outcome.created else 200,
    }


def read_ldx(upload: UploadedFile | None) -> bytes | None:
    if upload is None:
        return None
    if upload.size and upload.size > LDX_MAX_BYTES:
        raise ImportRejected(f"{upload.name}: too large for a MoTeC .ldx sidecar")
    return upload.read()


def _given(meta: dict[str, str]) -> dict[str, str | None]:
    return {k: (meta.get(k) or "").strip() or None for k in ("game", "track", "car", "kind")}


# ---- the page


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    ctx: dict[str, Any] = {
        "results": [],
        "error": None,
        "games": GAME_SUGGESTIONS,
        "max_size": megabytes(settings.IMPORT_MAX_BYTES),
    }
    if request.method != "POST":
        ctx["form"] = ImportMetaForm()
        return render(request, "sessions/import.html", ctx)
    ctx["error"] = too_big(request)
    if ctx["error"]:
        ctx["form"] = ImportMetaForm()
        return render(request, "sessions/import.html", ctx, status=413)
    form = ImportMetaForm(request.POST)
    form.is_valid()
    ctx["form"] = form
    ctx["results"], ctx["error"] = _page_imports(request, form.cleaned_data)
    ctx["show_fields"] = any(r.get("missing") for r in ctx["results"]) or any(form.cleaned_data.values())
    bad = [r["status"] for r in ctx["results"] if "error" in r]
    code = 400 if ctx["error"] else (max(bad) if bad and len(bad) == len(ctx["results"]) else 200)
    return render(request, "sessions/import.html", ctx, status=code)


def _page_imports(request: HttpRequest, meta: dict[str, str]) -> tuple[list[dict[str, Any]], str | None]:
    files = request.FILES.getlist("file")
    if not files:
        return [], "choose at least one file to import"
    try:
        ldx = read_ldx(request.FILES.get("ldx"))
    except ImportRejected as exc:
        return [], str(exc)
    results = [import_one(user=request.user, upload=f, ldx=ldx, meta=meta, rig_id=None) for f in files]
    return results, None


# ---- the API


class ImportCreateApi(APIView):
    """POST one lap file (multipart `file`, optional `ldx`, `game`, `track`, `car`, `kind`).

    Users authenticate with their session or DRF token, rigs with their bearer token; an
    import through a rig belongs to the rig's owner.
    """

    authentication_classes = [RigTokenAuthentication, SessionAuthentication, TokenAuthentication]
    parser_classes = [MultiPartParser]

    @extend_schema(request=None, responses=None)
    def post(self, request: Request) -> Response:
        error = too_big(request._request)
        if error:
            return Response({"error": error}, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        upload = request.FILES.get("file")
        if upload is None:
            return Response({"error": "no file: send the lap file as the multipart field 'file'"}, 400)
        try:
            ldx = read_ldx(request.FILES.get("ldx"))
        except ImportRejected as exc:
            return Response({"error": str(exc)}, 400)
        rig_id = request.auth.pk if isinstance(request.auth, Rig) else None
        result = import_one(user=request.user, upload=upload, ldx=ldx, meta=request.data, rig_id=rig_id)
        return Response({k: v for k, v in result.items() if k not in ("status", "label")}, result["status"])
