"""The import page (/import/) and API (/api/imports/...): receive uploads, report their progress.

Nothing here parses a lap file: a request stores bytes (at most one chunk, IMPORT_CHUNK_BYTES,
plus an .ldx) into the import's file and answers; the worker runs the import
(services_import_jobs). A request above IMPORT_REQUEST_MAX_BYTES is refused from its
Content-Length before its body is read.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
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

from .models import Import, Session
from .selectors import import_get_for_user, import_list_recent
from .services_import_jobs import ImportRequestError, import_chunk_append, import_create

LDX_MAX_BYTES = 4 * 1024 * 1024  # an .ldx sidecar is a few KB of XML
GAME_SUGGESTIONS = ("acc", "ac", "ams2", "iracing", "lmu", "r3e", "rf2")
AUTH = [RigTokenAuthentication, SessionAuthentication, TokenAuthentication]


class ImportMetaForm(forms.Form):
    game = forms.CharField(max_length=16, required=False)
    track = forms.CharField(max_length=120, required=False)
    car = forms.CharField(max_length=120, required=False)
    kind = forms.ChoiceField(choices=[("", "—"), *Session.Kind.choices], required=False)


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def too_big(request: HttpRequest) -> str | None:
    """The error for a request over IMPORT_REQUEST_MAX_BYTES, judged before its body is read."""
    length, limit = _content_length(request), settings.IMPORT_REQUEST_MAX_BYTES
    if length > limit:
        return (
            f"the request is {megabytes(length)}; one request carries at most {megabytes(limit)} "
            f"(IMPORT_REQUEST_MAX_BYTES): send larger files in chunks of {megabytes(settings.IMPORT_CHUNK_BYTES)}"
        )
    return None


def read_ldx(upload: UploadedFile | None) -> bytes | None:
    if upload is None:
        return None
    if upload.size and upload.size > LDX_MAX_BYTES:
        raise ImportRequestError(f"{upload.name}: too large for a MoTeC .ldx sidecar")
    return upload.read()


def import_status(imp: Import) -> dict[str, Any]:
    """The import as the API, the page's script and the agent see it."""
    body: dict[str, Any] = {
        "id": imp.pk,
        "file": imp.filename,
        "state": imp.state,
        "size": imp.size,
        "received": imp.received,
        "progress": imp.progress,
        "phase": imp.phase,
        "status_url": settings.URL_PREFIX + reverse("api-import", args=[imp.pk]),
    }
    if imp.state == Import.State.UPLOADING:
        body["chunk_url"] = settings.URL_PREFIX + reverse("api-import-chunk", args=[imp.pk])
        body["chunk_bytes"] = settings.IMPORT_CHUNK_BYTES
    if imp.state == Import.State.DONE and imp.session_id is not None:
        body.update(
            session_id=imp.session_id,
            created=imp.created,
            laps=imp.laps,
            warnings=imp.warnings,
            url=f"{settings.URL_PREFIX}/sessions/{imp.session_id}/",
        )
    if imp.state == Import.State.FAILED:
        body.update(error=imp.error, missing=imp.missing, retryable=imp.retryable)
    return body


def _given(meta: Any) -> dict[str, str]:
    return {k: str(meta.get(k) or "").strip() for k in ("game", "track", "car", "kind")}


# ---- the page


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    """GET: the form and the user's recent imports. POST (without JavaScript): queue the files."""
    error, code = None, 200
    form = ImportMetaForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        error, code = (too_big(request), 413)
        if error is None:
            error, code = _page_queue(request, form)
        if error is None:
            return redirect("import")
    recent = import_list_recent(user=request.user)
    ctx = {
        "form": form if error else ImportMetaForm(),
        "error": error,
        "imports": [{"imp": imp, "status": import_status(imp)} for imp in recent],
        # the latest file lacked game, track or car: open the fields it needs
        "show_fields": bool(recent and recent[0].missing),
        "games": GAME_SUGGESTIONS,
        "max_size": megabytes(settings.IMPORT_MAX_BYTES),
        "chunk_bytes": settings.IMPORT_CHUNK_BYTES,
    }
    return render(request, "sessions/import.html", ctx, status=code)


def _page_queue(request: HttpRequest, form: ImportMetaForm) -> tuple[str | None, int]:
    files = request.FILES.getlist("file")
    if not files:
        return "choose at least one file to import", 400
    form.is_valid()
    try:
        ldx = read_ldx(request.FILES.get("ldx"))
        for upload in files:
            import_create(
                owner=request.user,  # type: ignore[arg-type]
                filename=upload.name or "upload",
                size=upload.size or 0,
                meta=_given(form.cleaned_data),
                ldx=ldx,
                content=upload,
            )
    except ImportRequestError as exc:
        return str(exc), exc.status
    return None, 200


# ---- the API


class ImportCreateApi(APIView):
    """POST a new import (multipart): `file` (a whole file up to one chunk) or `filename` + `size`
    (the chunks follow), optional `ldx`, `game`, `track`, `car`, `kind`. Answers 202 with the
    import's status; poll its `status_url`.

    Users authenticate with their session or DRF token, rigs with their bearer token; an
    import through a rig belongs to the rig's owner.
    """

    authentication_classes = AUTH
    parser_classes = [MultiPartParser]

    @extend_schema(request=None, responses=None)
    def post(self, request: Request) -> Response:
        error = too_big(request._request)
        if error:
            return Response({"error": error}, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        upload = request.FILES.get("file")
        try:
            filename, size = self._announced(request, upload)
            imp = import_create(
                owner=request.user,
                filename=filename,
                size=size,
                meta=_given(request.data),
                ldx=read_ldx(request.FILES.get("ldx")),
                rig_id=request.auth.pk if isinstance(request.auth, Rig) else None,
                content=upload,
            )
        except ImportRequestError as exc:
            return Response({"error": str(exc)}, exc.status)
        return Response(import_status(imp), status.HTTP_202_ACCEPTED)

    @staticmethod
    def _announced(request: Request, upload: UploadedFile | None) -> tuple[str, int]:
        if upload is not None:
            return upload.name or "upload", upload.size or 0
        filename, size = request.data.get("filename"), request.data.get("size")
        if not filename or size in (None, ""):
            raise ImportRequestError(
                "no file: send the lap file as the multipart field 'file', or announce it with "
                "'filename' and 'size' and send it in chunks"
            )
        try:
            return str(filename), int(size)
        except (TypeError, ValueError):
            raise ImportRequestError(f"size must be a whole number of bytes, not {size!r}") from None


class ImportDetailApi(APIView):
    """GET an import's state, progress and, once finished, its result or error."""

    authentication_classes = AUTH

    @extend_schema(request=None, responses=None)
    def get(self, request: Request, import_id: int) -> Response:
        return Response(import_status(import_get_for_user(user=request.user, import_id=import_id)))


class ImportChunkApi(APIView):
    """PUT ?offset=N with the raw bytes of the file from N on (at most IMPORT_CHUNK_BYTES).

    Resumable: a chunk the server already has is taken once (200 again), a gap is a 409 that
    says the offset to send from; the answer is the import's status.
    """

    authentication_classes = AUTH

    @extend_schema(request=None, responses=None)
    def put(self, request: Request, import_id: int) -> Response:
        imp = import_get_for_user(user=request.user, import_id=import_id)
        error = too_big(request._request)
        if error:
            return Response({"error": error}, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        raw_offset = request.query_params.get("offset", "")
        if not raw_offset.isdigit():
            return Response({"error": f"offset must be a byte offset (?offset=0), not {raw_offset!r}"}, 400)
        length = _content_length(request._request)
        if length <= 0:
            return Response({"error": "an empty chunk: send the bytes with a Content-Length"}, 400)
        try:
            # The body is read straight from the request stream, 64 KB at a time: DRF never parses it.
            imp = import_chunk_append(imp=imp, offset=int(raw_offset), stream=request._request, length=length)
        except ImportRequestError as exc:
            fresh = import_get_for_user(user=request.user, import_id=import_id)
            return Response({**import_status(fresh), "error": str(exc)}, exc.status)
        return Response(import_status(imp))
