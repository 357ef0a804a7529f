"""One rule for sizes in messages, on both sides: the agent's upload progress and the server's
import limits both count MB as 2**20 bytes, so the two never disagree about a file."""

from __future__ import annotations

from typing import Final

MB: Final = 2**20  # as file managers count, and IMPORT_MAX_BYTES's default (200 * 1024 * 1024)


def megabytes(size: int) -> str:
    """Bytes in MB to one decimal, a trailing .0 dropped: "200 MB", "0.1 MB", "12.5 MB"."""
    return f"{size / MB:.1f}".removesuffix(".0") + " MB"
