"""Grounding: every number a generated report cites must be one of the facts' numbers.

A number in the text is grounded when some number in the facts rounds to it at the precision
the text shows ("0.18" matches 0.183, "10 m" matches -9.6: signs are words in prose, "lost
0.18 s" and "-0.18 s" say the same). Lap times count in both forms: "2:17.46" is 137.46 s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

# A lap time (m:ss.fff) or a plain number; not glued to a letter before it (T1, S2, GT3),
# though units may follow (10m, 3rd).
NUMBER: Final = re.compile(r"(?<![A-Za-z0-9_.:])(\d+:[0-5]\d(?:\.\d+)?|\d+(?:\.\d+)?)(?![\d:])")
PLACEHOLDER: Final = "[?]"


@dataclass(frozen=True)
class Quoted:
    text: str
    value: float
    decimals: int


def parse_number(token: str) -> Quoted:
    decimals = len(token.split(".", 1)[1]) if "." in token else 0
    if ":" in token:
        minutes, seconds = token.split(":", 1)
        return Quoted(token, int(minutes) * 60 + float(seconds), decimals)
    return Quoted(token, float(token), decimals)


def numbers_in(text: str) -> list[Quoted]:
    return [parse_number(m.group(1)) for m in NUMBER.finditer(text)]


def fact_numbers(facts: Any) -> set[float]:
    """Every number in the facts document, from values and from strings ("2:17.456")."""
    return {abs(v) for v in _walk(facts)}


def _walk(node: Any) -> Iterator[float]:
    if isinstance(node, bool) or node is None:
        return
    if isinstance(node, int | float):
        yield float(node)
    elif isinstance(node, str):
        yield from (q.value for q in numbers_in(node))
    elif isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _walk(value)


def is_grounded(quoted: Quoted, known: set[float]) -> bool:
    tolerance = 0.5 * 10 ** (-quoted.decimals) + 1e-9
    return any(abs(v - quoted.value) <= tolerance for v in known)


def ungrounded_in(text: str, known: set[float]) -> list[str]:
    return [q.text for q in numbers_in(text) if not is_grounded(q, known)]


def strip_ungrounded(text: str, known: set[float]) -> tuple[str, list[str]]:
    """The text with ungrounded numbers replaced by a placeholder, and the numbers removed."""
    removed: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if is_grounded(parse_number(match.group(1)), known):
            return match.group(0)
        removed.append(match.group(1))
        return PLACEHOLDER

    return NUMBER.sub(replace, text), removed
