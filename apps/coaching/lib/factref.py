"""Fact references: how a generated report cites a number without writing it.

The model writes `{best_lap}`, `{theoretical_best.gain_s}` or `{corner:La Source.time_lost_s}`;
the site looks the id up in the facts document and renders the value itself, so a number the
model got wrong can only be a wrong *reference*, never a wrong digit. An id is any key path of
the facts: dict keys and list indexes joined by dots, plus `kind:value` to pick the list item
whose `kind` field equals value (`corner:T3` in "corners", `lap:16` in "laps.list"). A key may
drop its unit suffix (`time_lost` finds `time_lost_s`). Pure: dicts in, strings out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

REF: Final = re.compile(r"\{([^{}\n]{1,160})\}")
PLACEHOLDER: Final = "[?]"
LAP_TIME: Final = re.compile(r"^\d+:[0-5]\d\.\d+$")
# `kind:value` on the document itself: where the kind's list lives.
LISTS: Final[dict[str, str]] = {"corner": "corners", "lap": "laps.list", "opportunity": "opportunities"}
# Unit of a value by the suffix of its key (or of the nearest key above it that has one).
UNITS: Final[dict[str, str]] = {
    "_s": "s", "_m": "m", "_kmh": "km/h", "_c": "°C", "_kpa": "kPa", "_l": "l", "_pct": "%",
}  # fmt: skip
# The suffixes that name a quantity the driver reads in their own units: facts_in_units
# converts those values and names the unit under the document's "units" (facts.py).
QUANTITY_OF: Final[dict[str, str]] = {"km/h": "speed", "kPa": "pressure", "°C": "temperature"}


class FactRefError(ValueError):
    """A reference that names no fact, or a group of facts rather than one value."""


@dataclass(frozen=True)
class Fact:
    path: str  # canonical id, as stored in the report text
    keys: tuple[str, ...]  # the dict keys walked to reach it (units and meaning come from these)
    value: float | int | str

    @property
    def unit(self) -> str:
        for key in reversed(self.keys):
            for suffix, unit in UNITS.items():
                if key.endswith(suffix):
                    return unit
        return ""

    @property
    def is_lap_time(self) -> bool:
        return isinstance(self.value, str) and bool(LAP_TIME.match(self.value))


def resolve(facts: dict[str, Any], ref: str) -> Fact:
    """The one value a reference names, or FactRefError saying why there is none."""
    segments = ref.strip().split(".")
    if not all(s.strip() for s in segments):
        raise FactRefError(f"{{{ref}}} is not a fact id")
    node, path, keys = _walk(facts, segments, ref)
    if isinstance(node, dict) and isinstance(node.get("time"), str):
        # A group with a headline time ({best_lap}, {theoretical_best}) stands for that time.
        node, path, keys = node["time"], [*path, "time"], [*keys, "time"]
    if isinstance(node, bool) or not isinstance(node, int | float | str):
        raise FactRefError(f"{{{ref}}} is a group of facts, not one value")
    if isinstance(node, str) and not LAP_TIME.match(node):
        raise FactRefError(f"{{{ref}}} is text, not a number")
    return Fact(".".join(path), tuple(keys), node)


def _walk(facts: dict[str, Any], segments: list[str], ref: str) -> tuple[Any, list[str], list[str]]:
    node: Any = facts
    path: list[str] = []
    keys: list[str] = []
    i = 0
    while i < len(segments):
        seg = segments[i].strip()
        if ":" in seg and isinstance(node, dict) and not path and seg.split(":", 1)[0] in LISTS:
            for key in LISTS[seg.split(":", 1)[0]].split("."):
                node, keys = node[key] if isinstance(node, dict) and key in node else None, [*keys, key]
        if ":" in seg and isinstance(node, list):
            # A name may hold a dot ("St. Devote"): join the following segments until one matches.
            kind, value = (p.strip() for p in seg.split(":", 1))
            for j in range(i, len(segments)):
                name = ".".join([value, *segments[i + 1 : j + 1]]).strip()
                item = next((x for x in node if isinstance(x, dict) and str(x.get(kind)) == name), None)
                if item is not None:
                    node, i = item, j
                    path.append(f"{kind}:{name}")
                    break
            else:
                raise FactRefError(f"{{{ref}}}: there is no {kind} {value!r} in the facts")
        elif isinstance(node, list) and seg.isdigit() and int(seg) < len(node):
            node = node[int(seg)]
            path.append(seg)
        elif isinstance(node, dict):
            found = _key(node, seg)
            if found is None:
                raise FactRefError(f"{{{ref}}}: the facts have no {seg!r} here")
            node = node[found]
            path.append(found)
            keys.append(found)
        else:
            raise FactRefError(f"{{{ref}}}: the facts have no {seg!r} here")
        i += 1
    return node, path, keys


def _key(node: dict[str, Any], seg: str) -> str | None:
    if seg in node:
        return seg
    # "time_lost" finds "time_lost_s": the unit suffix is the site's business, not the model's.
    stems = [k for k in node if k.startswith(seg + "_") and "_" + k.rsplit("_", 1)[1] in UNITS]
    return stems[0] if len(stems) == 1 else None


def format_fact(fact: Fact, units: Mapping[str, str] | None = None) -> str:
    """THE rendering of a fact's value: every number a report shows goes through here.

    `units` is the facts document's "units" (speed, pressure, temperature → the unit its values
    are in); without it a value is in the unit its key's suffix names (facts stored before
    units existed).
    """
    value = fact.value
    if isinstance(value, str):
        return value  # a lap time, already m:ss.fff
    if any("vs_best" in k for k in fact.keys):
        value = abs(value)  # the sign is a word in the sentence ("later", "slower")
    # The facts are rounded where they are made (facts.py): show them as stored, all digits.
    text = str(value).removesuffix(".0")
    unit = (units or {}).get(QUANTITY_OF.get(fact.unit, ""), fact.unit)
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def render(text: str, facts: dict[str, Any]) -> str:
    """The text with every reference replaced by its value, in the units the facts name; a
    dead reference shows as [?]."""
    units = facts.get("units")

    def one(match: re.Match[str]) -> str:
        try:
            return format_fact(resolve(facts, match.group(1)), units if isinstance(units, dict) else None)
        except FactRefError:
            return PLACEHOLDER

    return REF.sub(one, text)


def leaves(node: Any, path: tuple[str, ...] = (), keys: tuple[str, ...] = ()) -> list[Fact]:
    """Every citable value of the facts with its canonical id, in document order."""
    if isinstance(node, bool) or node is None:
        return []
    if isinstance(node, int | float):
        return [Fact(_canonical(path), keys, node)]
    if isinstance(node, str):
        return [Fact(_canonical(path), keys, node)] if LAP_TIME.match(node) else []
    out: list[Fact] = []
    if isinstance(node, dict):
        for key, value in node.items():
            out += leaves(value, (*path, key), (*keys, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += leaves(value, (*path, _item_id(value, index)), keys)
    return out


def _canonical(path: tuple[str, ...]) -> str:
    joined = ".".join(path)
    for kind, where in LISTS.items():
        if joined.startswith(f"{where}.{kind}:"):
            return joined[len(where) + 1 :]
    return joined


def _item_id(item: Any, index: int) -> str:
    for kind in ("corner", "lap"):
        if isinstance(item, dict) and isinstance(item.get(kind), str | int) and "." not in str(item[kind]):
            return f"{kind}:{item[kind]}"
    return str(index)


def seconds(value: float | int | str) -> float:
    """A fact's value as a number: lap times in seconds."""
    if isinstance(value, str):
        minutes, rest = value.split(":", 1)
        return int(minutes) * 60 + float(rest)
    return float(value)
