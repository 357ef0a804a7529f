"""Fixed-window counters in the cache: cheap brute-force brakes for codes and logins."""

from __future__ import annotations

from django.core.cache import cache


def limited(key: str, *, limit: int) -> bool:
    """True once `key` has been counted `limit` times in the current window."""
    return bool(cache.get(f"rl:{key}", 0) >= limit)


def count(key: str, *, window_s: int) -> int:
    """Count one event against `key`; the window starts at the first event."""
    full = f"rl:{key}"
    if cache.add(full, 1, timeout=window_s):
        return 1
    try:
        return int(cache.incr(full))
    except ValueError:  # expired between add and incr
        cache.add(full, 1, timeout=window_s)
        return 1
