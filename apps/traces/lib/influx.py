"""The one gateway to InfluxDB: line-protocol /write and InfluxQL /query over HTTP.

These two v1 endpoints are served by InfluxDB 1.x, by 2.x (v1 compatibility, token auth) and by
3.x, so one client serves every generation. The calls are two POSTs and a GET (stdlib
http.client, on a kept-alive connection per thread).
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .native import fast


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

    def write(self, lines: Iterable[bytes]) -> None:
        body = b"\n".join(lines)
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
        base = urllib.parse.urlsplit(self.url)
        target = f"{base.path.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
        headers = {"Authorization": f"Token {self.token}"} if self.token else {}
        for attempt in range(2):
            conn, reused = _connection(base, self.timeout_s)
            try:
                conn.request(method, target, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                _drop_connection(base, self.timeout_s)
                # A kept-alive connection the server closed while idle: one fresh try.
                if reused and attempt == 0:
                    continue
                raise InfluxError(f"InfluxDB unreachable: {exc}", transient=True) from None
            if resp.status >= 300:
                detail = data[:300].decode(errors="replace")
                transient = resp.status >= 500 or resp.status == 429
                raise InfluxError(f"InfluxDB {resp.status}: {detail}", transient=transient)
            return data
        raise AssertionError("unreachable")


# One kept-alive HTTP connection per thread and server: a new TCP connection per batch cost
# more than the write itself. Threads never share one (http.client is not thread-safe).
_local = threading.local()


def _connection(base: urllib.parse.SplitResult, timeout_s: float) -> tuple[http.client.HTTPConnection, bool]:
    pool: dict[tuple[str, str, float], http.client.HTTPConnection] = _local.__dict__.setdefault("pool", {})
    key = (base.scheme, base.netloc, timeout_s)
    conn = pool.get(key)
    if conn is not None:
        return conn, True
    cls = http.client.HTTPSConnection if base.scheme == "https" else http.client.HTTPConnection
    conn = pool[key] = cls(base.netloc, timeout=timeout_s)
    return conn, False


def _drop_connection(base: urllib.parse.SplitResult, timeout_s: float) -> None:
    conn = _local.__dict__.get("pool", {}).pop((base.scheme, base.netloc, timeout_s), None)
    if conn is not None:
        conn.close()


def lines(
    measurement: str,
    tags: Mapping[str, np.ndarray],
    fields: Mapping[str, np.ndarray],
    decimals: Mapping[str, int],
    t_ms: np.ndarray,
    *,
    omit: np.ndarray | None = None,
    native: bool = True,
) -> bytes:
    """Line protocol for rows of columnar data, newline-separated, in one block.

    Tags are integer columns (ids, lap numbers). Each field is written to its number of
    `decimals` as an integer with an exponent, 12345e-2 for 123.45: integers format several
    times faster than float reprs. `omit` (rows x fields, True = leave the value out) lets the
    caller skip values; each row must keep at least one field (a non-finite value is always
    left out). The rows whose kept values fit are one matrix of integers, formatted in C with
    the GIL released (the ingest's hottest loop) or, without the C module (or with
    `native=False`), in Python. Rows that do not fit (a non-finite value, left out of its row,
    or one too large to scale exactly) are written one by one.
    """
    names = list(fields)
    raw = np.column_stack([np.asarray(fields[k], dtype=np.float64) for k in names])
    q = np.rint(raw * np.array([10.0 ** decimals[k] for k in names]))
    fits = np.isfinite(q) & (np.abs(q) < 2.0**53)  # beyond 2**53 a scaled value is not exact
    keep = np.ones(q.shape, dtype=bool) if omit is None else ~np.asarray(omit, dtype=bool)
    whole = (fits | ~keep).all(axis=1)
    q[~fits] = 0  # in a whole row, only in slots that are left out anyway
    head = measurement + "".join(f",{k}=%d" for k in tags)
    exponents = [f"e-{decimals[k]}" if decimals[k] else "" for k in names]
    values = [f"{k}=%d{e}" for k, e in zip(names, exponents, strict=True)]
    int_tags = np.column_stack([np.asarray(v, dtype=np.int64) for v in tags.values()])
    t_ms = np.asarray(t_ms, dtype=np.int64)
    rows = np.column_stack([int_tags[whole], q[whole].astype(np.int64), t_ms[whole]])
    if native and fast is not None:
        before = [f",{k}=" for k in [*tags, *names]] + [" "]
        before[0] = measurement + before[0]
        before[len(tags)] = " " + before[len(tags)][1:]
        after = [""] * len(tags) + exponents + [""]
        parts = tuple(s.encode() for pair in zip(before, after, strict=True) for s in pair)
        mask = b"" if omit is None else np.ascontiguousarray(~keep[whole], dtype=np.uint8).tobytes()
        lead, stop = len(tags), len(tags) + len(names)
        out = [fast.format_lines(parts, np.ascontiguousarray(rows).tobytes(), len(rows), mask, lead, stop)]
    elif omit is None:  # one `%` over the whole block
        text = "\n".join([f"{head} {','.join(values)} %d"] * len(rows)) % tuple(rows.ravel().tolist())
        out = [text.encode()]
    else:
        out = [
            _line(head, values, row, np.flatnonzero(k).tolist()).encode()
            for row, k in zip(rows, keep[whole], strict=True)
        ]
    for i in np.flatnonzero(~whole).tolist():
        body = ",".join(
            values[j] % q[i, j] if fits[i, j] else f"{names[j]}={float(raw[i, j])!r}"
            for j in range(len(names))
            if math.isfinite(raw[i, j]) and keep[i, j]
        )
        if body:
            out.append(f"{head % tuple(int_tags[i].tolist())} {body} {t_ms[i]}".encode())
    return b"\n".join(line for line in out if line)


def _line(head: str, values: list[str], row: np.ndarray, kept: list[int]) -> str:
    ints = row.tolist()
    n = len(ints) - len(values) - 1  # tags first, the time last
    if not kept:
        raise ValueError("a line protocol row has no field left")
    body = ",".join(values[j] % ints[n + j] for j in kept)
    return f"{head % tuple(ints[:n])} {body} {ints[-1]}"
