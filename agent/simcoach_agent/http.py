"""The agent's one HTTP call: send a request, get (status, JSON body or None) back."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Final

HTTP_TIMEOUT: Final = 15.0  # seconds per request


def send(
    req: urllib.request.Request, error: type[Exception], timeout: float = HTTP_TIMEOUT
) -> tuple[int, Any]:
    """HTTP errors come back as their status; an unreachable server raises `error`."""
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - URL from the user's config
            return resp.status, parse_json(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, parse_json(exc.read())
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise error(f"cannot reach {req.full_url}: {reason}") from None


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
