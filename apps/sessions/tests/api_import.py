"""Import through the API the way a client does: POST, let the queued task run, read the status.

In a test's transaction on-commit callbacks never fire; `api_import` captures the ones the
request registered (the import task, through simcoach_site.jobs) and runs them, then GETs the
import's status. What it returns answers like the old synchronous API did (201 new, 200 again,
400 refused, 503 server trouble) so the tests state outcomes, not polling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.test import Client, TestCase

API = "/api/imports/"


@dataclass
class Outcome:
    status_code: int
    body: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return self.body

    @property
    def content(self) -> bytes:
        return repr(self.body).encode()


def run_queued(post: Any) -> Any:
    """Call `post()` and run the on-commit callbacks it registered (the task), once."""
    with TestCase.captureOnCommitCallbacks() as callbacks:
        response = post()
    for callback in callbacks:
        callback()
    return response


def api_import(client: Client, fields: dict[str, Any], **headers: Any) -> Outcome:
    """Import `fields["file"]` in one request, or in chunks when it is larger than one."""
    upload = fields["file"] if "file" in fields and not isinstance(fields["file"], list) else None
    data = upload.read() if upload is not None else b""
    if len(data) <= settings.IMPORT_CHUNK_BYTES:
        if upload is not None:
            upload.seek(0)
        response = run_queued(lambda: client.post(API, fields, **headers))
    else:
        response = _chunked(client, fields, data, headers)
    if response.status_code not in (200, 202):
        return Outcome(response.status_code, response.json())
    status = client.get(response.json()["status_url"], **headers).json()
    if status["state"] == "done":
        return Outcome(201 if status["created"] else 200, status)
    assert status["state"] == "failed", status
    return Outcome(503 if status["retryable"] else 400, status)


def _chunked(client: Client, fields: dict[str, Any], data: bytes, headers: dict[str, Any]) -> Any:
    name = getattr(fields["file"], "name", "upload")
    announce = {k: v for k, v in fields.items() if k != "file"}
    created = client.post(API, {**announce, "filename": name, "size": len(data)}, **headers)
    if created.status_code != 202:
        return created
    url, step = created.json()["chunk_url"], settings.IMPORT_CHUNK_BYTES
    for offset in range(0, len(data), step):
        chunk = data[offset : offset + step]
        response = run_queued(
            lambda: client.put(f"{url}?offset={offset}", chunk, "application/octet-stream", **headers)  # noqa: B023
        )
        if response.status_code != 200:
            return response
    return response
