"""Numbers in sentences: counts with the right plural. (Sizes: `simcoach_agent.sizes`, one rule
for the agent and the server.)"""

from __future__ import annotations


def count(n: int | float, noun: str, plural: str | None = None) -> str:
    """`count(1, "lap")` -> "1 lap", `count(3, "lap")` -> "3 laps"; 1.0 is still "1.0 laps"."""
    word = noun if n == 1 and isinstance(n, int) else (plural or noun + "s")
    return f"{n} {word}"
