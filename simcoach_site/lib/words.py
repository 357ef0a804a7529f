"""Words: counts with the right plural, and what people type made safe to print. (Sizes:
`simcoach_agent.sizes`, one rule for the agent and the server.)"""

from __future__ import annotations

import unicodedata


def count(n: int | float, noun: str, plural: str | None = None) -> str:
    """`count(1, "lap")` -> "1 lap", `count(3, "lap")` -> "3 laps"; 1.0 is still "1.0 laps"."""
    word = noun if n == 1 and isinstance(n, int) else (plural or noun + "s")
    return f"{n} {word}"


def one_printable_line(text: str) -> str:
    """`text` as one line with no control characters (each becomes a space) and single spaces:
    what a coach types reaches the rig's terminal and its speech engine."""
    kept = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    return " ".join(kept.split())
