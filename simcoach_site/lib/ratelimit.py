"""Fixed-window counters in the cache: cheap brute-force brakes for codes, logins and signups.

`attempt()` counts first and decides on the number it got back. The cache's `incr` is atomic
(Redis INCR; locmem under its lock), so every concurrent caller gets a number of its own and at
most `limit` of them can ever see "allowed" in a window. Checking with `get` and counting
afterwards (what this module did before) let 150 parallel wrong passwords through a limit of 10.
"""

from __future__ import annotations

from django.core.cache import cache


def attempt(key: str, *, limit: int, window_s: int) -> bool:
    """Count one attempt against `key`; True if it is within `limit` for the window."""
    return count(key, window_s=window_s) <= limit


def attempt_all(keys: list[tuple[str, int]], *, window_s: int) -> bool:
    """Count one attempt against every (key, limit); True only if all are within their limit.
    Every key is counted even when an earlier one is over, so no key is left behind."""
    results = [attempt(key, limit=limit, window_s=window_s) for key, limit in keys]
    return all(results)


def refund(key: str) -> None:
    """Give back one counted attempt (one that turned out legitimate, e.g. a right password)."""
    try:
        if cache.decr(f"rl:{key}") < 0:
            cache.delete(f"rl:{key}")
    except ValueError:  # the window ended meanwhile: nothing to give back
        pass


def limited(key: str, *, limit: int) -> bool:
    """True once `key` has been counted `limit` times in the current window (a read only:
    use `attempt` wherever the answer gates the work being counted)."""
    return bool(cache.get(f"rl:{key}", 0) >= limit)


def count(key: str, *, window_s: int) -> int:
    """Count one event against `key`; the window starts at the first event."""
    full = f"rl:{key}"
    if cache.add(full, 1, timeout=window_s):
        return 1
    try:
        value = int(cache.incr(full))
    except ValueError:  # expired between add and incr
        cache.add(full, 1, timeout=window_s)
        return 1
    if value == 1:
        # Django's Redis incr checks EXISTS then INCRs: a key expiring in between is created
        # again by INCR with no expiry at all, a lockout that would never end.
        cache.touch(full, window_s)
    return value
