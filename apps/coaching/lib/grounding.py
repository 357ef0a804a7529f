"""Grounding: a report's text may show no number the site did not render from the facts.

The model cites facts by id (`{best_lap}`, see factref). What it still writes as free text is
read here: digits ("0.18 s", "2:18.41", "1 min 48.229 s", "138.4 s") and numbers in words
("two seconds", "three tenths"). A free number that equals a fact at the precision shown,
in a compatible unit, is bound to that fact: it becomes its reference, so the site renders it
and an honest number in another format is never removed. One that equals no fact is a problem.
Two misquotes are caught on references themselves: a percentage of a fact that is not one
("{lap:8.lap}%"), and a lap time called the best, theoretical or average lap that is not
("your best was {lap:16.time}").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from .factref import PLACEHOLDER, REF, Fact, FactRefError, format_fact, leaves, resolve, seconds

_ONES: Final = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()  # noqa: E501
_TENS: Final = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}  # fmt: skip  # noqa: E501
WORD_VALUES: Final[dict[str, int]] = {w: i for i, w in enumerate(_ONES)} | _TENS
_WORD: Final = "|".join(sorted(WORD_VALUES, key=len, reverse=True))
# A unit after a number, normalised to the facts' unit names.
UNIT_WORDS: Final[dict[str, str]] = {
    "%": "%", "percent": "%", "per cent": "%", "km/h": "km/h", "kph": "km/h", "°c": "°C", "° c": "°C",
    "degrees": "°C", "degree": "°C", "kpa": "kPa", "s": "s", "sec": "s", "secs": "s", "second": "s",
    "seconds": "s", "m": "m", "metre": "m", "metres": "m", "meter": "m", "meters": "m", "l": "l",
    "litre": "l", "litres": "l", "liter": "l", "liters": "l",
}  # fmt: skip
_UNIT: Final = "|".join(re.escape(u) for u in sorted(UNIT_WORDS, key=len, reverse=True))
_SIGN: Final = r"[-−+]?"
_FREE: Final = (
    # 1 min 48.229 s, 1m48.229s
    rf"(?P<min>\d+)\s*(?:minutes?|mins?|m)\s*(?P<sec>[0-5]?\d(?:\.\d+)?)\s*(?:seconds?|secs?|s)\b"
    # 2:18.412
    rf"|(?P<clock>\d+:[0-5]\d(?:\.\d+)?)(?![\d:])"
    # 0.18 s, 10m, 8%
    rf"|(?P<num>\d+(?:\.\d+)?)(?![\d:])(?:\s?(?P<unit>{_UNIT})(?![A-Za-z]))?"
    # two seconds, three tenths, half a second, eight percent
    rf"|(?P<half>half a second)"
    rf"|(?P<words>(?:{_WORD})(?:[- ](?:{_WORD}))?)\s+(?:(?P<scale>tenths?|hundredths?)(?:\s+of\s+a\s+second)?"
    rf"|(?P<wunit>{_UNIT})(?![A-Za-z]))"
)
TOKEN: Final = re.compile(
    rf"{REF.pattern}|(?<![A-Za-z0-9_.:]){_SIGN}(?:{_FREE})", re.IGNORECASE
)  # fmt: skip
PERCENT_AFTER: Final = re.compile(r"^\s?(?:%|per\s?cent\b)", re.IGNORECASE)
# A unit written after a reference, which renders its own: "{theoretical_best.gain_s} s quicker".
UNIT_AFTER: Final = re.compile(rf"^\s?(?:{_UNIT})(?![A-Za-z])", re.IGNORECASE)
# "8 laps" is a count, "lap 8" a lap's number: lap numbers must not ground counts, nor the reverse.
COUNT_AFTER: Final = re.compile(r"^\s+(?:[a-z]+\s+)?laps?\b", re.IGNORECASE)
LAP_BEFORE: Final = re.compile(r"\blaps?\s+$", re.IGNORECASE)
CLAUSE_END: Final = re.compile(r"[.;:!?()\n]")
# Words that say which lap time a sentence is about, and the fact ids that may follow them.
CLAIMS: Final[tuple[tuple[re.Pattern[str], str, str], ...]] = (
    (
        re.compile(r"\b(?:theoretical|ideal|optimal|potential)\b", re.I),
        "theoretical_best",
        "theoretical best",
    ),
    (re.compile(r"\b(?:average|mean)\b", re.I), "average", "average"),
    (re.compile(r"\b(?:best|fastest|quickest)\b", re.I), "best", "best lap"),
)


@dataclass(frozen=True)
class Quote:
    text: str
    value: float
    decimals: int
    unit: str  # "" when none was written
    lap_time: bool


@dataclass
class Checked:
    """A text with its free numbers bound to facts, what is wrong with it, and it stripped."""

    text: str = ""  # free numbers bound to references; wrong parts left as written
    stripped: str = ""  # wrong parts replaced by the placeholder
    problems: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def check(text: str, facts: dict[str, Any]) -> Checked:
    """Read a text the model wrote: bind honest numbers, list and strip the rest."""
    known = leaves(facts)
    names = _names_in(text, facts)
    out = Checked()
    pos = 0
    for match in TOKEN.finditer(text):
        if match.group(1) is None and any(a <= match.start() < b for a, b in names):
            continue  # the digits of a name ("Turn 10"): words, not a number
        before = text[pos : match.start()]
        out.text += before
        out.stripped += before
        pos = match.end()
        fact, problem = _token(match, known, facts, text[pos:], _clause(out.text))
        suffix = _suffix(match, fact, problem, text[pos:])
        pos += len(suffix)
        written = match.group(0) + suffix
        if problem is not None:
            out.problems.append(problem)
            out.removed.append(_as_read(match, fact, written))
            out.text += written
            out.stripped += PLACEHOLDER
        else:
            assert fact is not None
            out.text += f"{{{fact.path}}}"
            out.stripped += f"{{{fact.path}}}"
    out.text += text[pos:]
    out.stripped += text[pos:]
    return out


def _names_in(text: str, facts: dict[str, Any]) -> list[tuple[int, int]]:
    """Where the text names a corner of the facts whose name holds digits."""
    found = {str(c.get("corner")) for key in ("corners", "opportunities") for c in facts.get(key) or []}
    names = [n for n in found if any(ch.isdigit() for ch in n)]
    return [m.span() for n in names for m in re.finditer(rf"(?<!\w){re.escape(n)}(?!\w)", text)]


def _suffix(match: re.Match[str], fact: Fact | None, problem: str | None, after: str) -> str:
    """What after a reference belongs to it: a percent sign it cannot carry (removed with it),
    or a unit the site renders anyway (dropped, else "0.31 s s")."""
    if match.group(1) is None:
        return ""  # a free number's unit is part of its match already
    percent = PERCENT_AFTER.match(after)
    if percent and problem is not None:
        return percent.group(0)
    unit = UNIT_AFTER.match(after)
    if unit is None or fact is None:
        return ""
    written = UNIT_WORDS[unit.group(0).strip().lower()]
    return unit.group(0) if written == fact.unit or (fact.is_lap_time and written == "s") else ""


def _as_read(match: re.Match[str], fact: Fact | None, written: str) -> str:
    # What the reader would have seen: the number as written, or the misused fact rendered.
    if match.group(1) is None:
        return written.strip()
    if fact is None:
        return written  # "{corner:Eau Rouge.time_lost_s}": says what was asked for
    return format_fact(fact) + written[len(match.group(0)) :].strip()


def _clause(text: str) -> str:
    # What was written since the last reference or punctuation: the words that say what comes next.
    cut = max(text.rfind("}") + 1, max((m.end() for m in CLAUSE_END.finditer(text)), default=0))
    return text[cut:]


def _token(
    match: re.Match[str], known: list[Fact], facts: dict[str, Any], after: str, clause: str
) -> tuple[Fact | None, str | None]:
    fact: Fact | None
    if match.group(1) is not None:  # a reference
        try:
            fact = resolve(facts, match.group(1))
        except FactRefError as exc:
            return None, str(exc)
    else:
        quote = parse_quote(match)
        fact = bind(quote, _in_role(known, quote, after, clause))
        if fact is None:
            return None, f"the number {quote.text!r} is not in the facts"
    if PERCENT_AFTER.match(after) and fact.unit != "%":
        return fact, f"{{{fact.path}}} is not a percentage"
    return fact, _wrong_claim(fact, clause, known)


def _in_role(known: list[Fact], quote: Quote, after: str, clause: str) -> list[Fact]:
    if quote.unit or quote.lap_time:
        return known
    if LAP_BEFORE.search(clause):
        return [f for f in known if f.keys[-1:] == ("lap",)]
    if COUNT_AFTER.match(after):
        return [f for f in known if f.keys[-1:] != ("lap",)]
    return known


def _wrong_claim(fact: Fact, clause: str, known: list[Fact]) -> str | None:
    if not fact.is_lap_time:
        return None
    for words, fragment, name in CLAIMS:
        if words.search(clause):
            # The named lap time itself, or the same time reached another way ({lap:2.time}).
            same = any(fragment in f.path and f.value == fact.value for f in known)
            return None if same else f"{{{fact.path}}} ({fact.value}) is not the {name}"
    return None


def parse_quote(match: re.Match[str]) -> Quote:
    text = match.group(0).strip()
    if match.group("min") is not None:
        sec = match.group("sec")
        return Quote(text, int(match.group("min")) * 60 + float(sec), _decimals(sec), "s", True)
    if match.group("clock") is not None:
        clock = match.group("clock")
        return Quote(text, seconds(clock), _decimals(clock), "s", True)
    if match.group("num") is not None:
        unit = UNIT_WORDS[match.group("unit").lower()] if match.group("unit") else ""
        return Quote(text, float(match.group("num")), _decimals(match.group("num")), unit, False)
    if match.group("half") is not None:
        return Quote(text, 0.5, 1, "s", False)
    value = sum(WORD_VALUES[w.lower()] for w in re.split(r"[- ]", match.group("words")))
    scale = (match.group("scale") or "").lower()
    if scale:
        digits = 1 if scale.startswith("tenth") else 2
        return Quote(text, value / 10**digits, digits, "s", False)
    return Quote(text, float(value), 0, UNIT_WORDS[match.group("wunit").lower()], False)


def _decimals(token: str) -> int:
    return len(token.split(".", 1)[1]) if "." in token else 0


def bind(quote: Quote, known: list[Fact]) -> Fact | None:
    """The fact a free number quotes: same value at the precision shown, compatible unit."""
    tolerance = 0.5 * 10 ** (-quote.decimals) + 1e-9
    fits = [
        (abs(abs(seconds(f.value)) - quote.value), i, f)
        for i, f in enumerate(known)
        if _units_fit(quote, f) and abs(abs(seconds(f.value)) - quote.value) <= tolerance
    ]
    return min(fits, key=lambda t: (t[0], t[1]))[2] if fits else None


def _units_fit(quote: Quote, fact: Fact) -> bool:
    if quote.lap_time:
        return fact.is_lap_time
    if quote.unit == "s":
        return fact.unit == "s" or fact.is_lap_time
    if quote.unit:
        return fact.unit == quote.unit
    return fact.unit != "%"  # "8" is not "8%"
