"""Numbers in sentences: counts with the right plural, sizes in one unit rule."""

from __future__ import annotations

MB = 2**20  # what file managers and IMPORT_MAX_BYTES's default (200 * 1024 * 1024) count in


def count(n: int | float, noun: str, plural: str | None = None) -> str:
    """`count(1, "lap")` -> "1 lap", `count(3, "lap")` -> "3 laps"; 1.0 is still "1.0 laps"."""
    word = noun if n == 1 and isinstance(n, int) else (plural or noun + "s")
    return f"{n} {word}"


def megabytes(size: int) -> str:
    """Bytes in MB (2**20) to one decimal, dropping a trailing .0: "200 MB", "0.1 MB", "12.5 MB"."""
    return f"{size / MB:.1f}".removesuffix(".0") + " MB"
