"""The one gateway to InfluxDB: line-protocol /write and InfluxQL /query over HTTP.

These two v1 endpoints are served by InfluxDB 1.x, by 2.x (v1 compatibility, token auth) and by
3.x, so one client serves every generation. Stdlib only: the calls are two POSTs and a GET.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class InfluxError(RuntimeError):
    """InfluxDB refused or could not be reached; `transient` says whether a retry may help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class InfluxClient:
    url: str
    database: str
    token: str = ""
    username: str = ""
    password: str = ""
    timeout_s: float = 10.0

    def write(self, lines: Iterable[str]) -> None:
        body = "\n".join(lines).encode()
        if body:
            self._request("POST", "/write", {"db": self.database, "precision": "ms"}, body)

    def query(self, q: str, *, epoch: str = "ms") -> list[dict[str, Any]]:
        """Run InfluxQL; return the series of the first statement (empty list if none)."""
        raw = self._request("POST", "/query", {"db": self.database, "q": q, "epoch": epoch}, None)
        results = json.loads(raw).get("results", [{}])
        if results and "error" in results[0]:
            raise InfluxError(f"InfluxQL error: {results[0]['error']}", transient=False)
        return results[0].get("series", []) if results else []

    def create_database(self) -> None:
        self._request("POST", "/query", {"q": f'CREATE DATABASE "{self.database}"'}, None)

    def ping(self) -> bool:
        try:
            self._request("GET", "/ping", {}, None)
            return True
        except InfluxError:
            return False

    def _request(self, method: str, path: str, params: Mapping[str, str], body: bytes | None) -> bytes:
        if self.username:
            params = {**params, "u": self.username, "p": self.password}
        url = f"{self.url.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
        req = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - URL from settings
        if self.token:
            req.add_header("Authorization", f"Token {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310
                return bytes(resp.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise InfluxError(
                f"InfluxDB {exc.code}: {detail}", transient=exc.code >= 500 or exc.code == 429
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise InfluxError(f"InfluxDB unreachable: {exc}", transient=True) from None


def escape_tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def line(measurement: str, tags: Mapping[str, str], fields: Mapping[str, float], t_ms: int) -> str:
    tag_part = ",".join(f"{k}={escape_tag(v)}" for k, v in tags.items())
    field_part = ",".join(f"{k}={v!r}" for k, v in fields.items() if math.isfinite(v))
    return f"{measurement},{tag_part} {field_part} {t_ms}"
