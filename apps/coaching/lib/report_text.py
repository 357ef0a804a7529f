"""The report's shape: the JSON schema the model must follow, the prompt, the checks, and the
deterministic template used when no model is configured. Pure: dicts in, dicts out.
"""

from __future__ import annotations

import json
from typing import Any, Final

from simcoach_site.lib.units import STORED
from simcoach_site.lib.words import count

from .grounding import fact_numbers, strip_ungrounded, ungrounded_in

PROMPT_VERSION: Final = "report-v1"
TEXT_FIELDS: Final = ("summary", "tyres", "brakes", "fuel", "consistency", "plan")
MAX_OPPORTUNITIES: Final = 3
NO_KEY_NOTICE: Final = "Written from your data without AI: no OpenAI key configured."

_OPPORTUNITY: Final = {
    "type": "object",
    "properties": {
        "corner": {"type": "string"},
        "change": {"type": "string"},
        "time_s": {"type": ["number", "null"]},
    },
    "required": ["corner", "change", "time_s"],
    "additionalProperties": False,
}
SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "opportunities": {"type": "array", "items": _OPPORTUNITY},
        **{name: {"type": "string"} for name in TEXT_FIELDS if name != "summary"},
    },
    "required": ["summary", "opportunities", *[n for n in TEXT_FIELDS if n != "summary"]],
    "additionalProperties": False,
}

SYSTEM: Final = """You are a motorsport driving coach writing a short post-session report for a sim racer.
Use ONLY the facts in the JSON document you are given. Every number you write must appear in
the facts, at most rounded to fewer decimals; never compute, estimate or invent new numbers.
Units: seconds (s), metres (m), litres; speeds, tyre pressures and temperatures in the units
the facts' "units" names (key suffixes such as _kmh, _kpa, _c name the quantity, not the
unit): write numbers with those units. In "corners" and
"opportunities", time_lost_s/time_s is the average time lost per lap against the best lap, and
brake_point_vs_best_m < 0 means the driver braked earlier than on the best lap.
Write plain, direct English addressed to the driver ("you"). Fields:
- summary: two or three sentences on the session.
- opportunities: up to three, taken from the facts' opportunities in order: the corner's name
  exactly as in the facts, the change to make, and time_s copied from the facts.
- tyres, brakes, fuel, consistency: one or two sentences each; say "no data" when the facts
  have none.
- plan: three concrete goals for the next session."""


class ReportFormatError(ValueError):
    """The model's reply is not a report of the agreed shape."""


def messages_for(facts: dict[str, Any]) -> list[dict[str, str]]:
    document = json.dumps(facts, separators=(",", ":"), ensure_ascii=False)
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Facts of the session (JSON):\n{document}"},
    ]


def correction_for(problems: list[str]) -> dict[str, str]:
    listed = "; ".join(problems)
    return {
        "role": "user",
        "content": f"Your report has problems: {listed}. Rewrite it using only numbers and corner "
        "names that appear in the facts, in the same JSON shape.",
    }


def parse_report(content: str) -> dict[str, Any]:
    """The model's JSON reply as sections, or ReportFormatError saying what is wrong."""
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise ReportFormatError(f"the reply is not JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise ReportFormatError("the reply is not a JSON object")
    for name in TEXT_FIELDS:
        if not isinstance(data.get(name), str):
            raise ReportFormatError(f"'{name}' is missing or not text")
    sections = {name: data[name].strip() for name in TEXT_FIELDS}
    sections["opportunities"] = _parse_opportunities(data.get("opportunities"))
    return sections


def _parse_opportunities(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise ReportFormatError("'opportunities' is missing or not a list")
    out = []
    for item in raw[:MAX_OPPORTUNITIES]:
        if not isinstance(item, dict) or not isinstance(item.get("corner"), str):
            raise ReportFormatError("an opportunity has no corner")
        time_s = item.get("time_s")
        if time_s is not None and (isinstance(time_s, bool) or not isinstance(time_s, int | float)):
            raise ReportFormatError("an opportunity's time_s is not a number")
        out.append({"corner": item["corner"], "change": str(item.get("change", "")), "time_s": time_s})
    return out


def grounding_problems(sections: dict[str, Any], facts: dict[str, Any]) -> list[str]:
    """What the report says that the facts do not: numbers, and corner names."""
    known = fact_numbers(facts)
    numbers = [n for text in _texts(sections) for n in ungrounded_in(text, known)]
    numbers += [str(o["time_s"]) for o in sections["opportunities"] if not _time_ok(o["time_s"], known)]
    corners = {c["corner"] for c in facts.get("corners", [])}
    names = [o["corner"] for o in sections["opportunities"] if o["corner"] not in corners]
    return [f"the number {n} is not in the facts" for n in numbers] + [
        f"the corner {name!r} is not in the facts" for name in names
    ]


def _texts(sections: dict[str, Any]) -> list[str]:
    return [sections[name] for name in TEXT_FIELDS] + [o["change"] for o in sections["opportunities"]]


def _time_ok(value: float | None, known: set[float]) -> bool:
    return value is None or any(abs(abs(value) - v) <= 0.005 for v in known)


def strip_report(sections: dict[str, Any], facts: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Remove what is not grounded (numbers become a placeholder); return what was removed."""
    known = fact_numbers(facts)
    corners = {c["corner"] for c in facts.get("corners", [])}
    removed: list[str] = []
    out: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        out[name], gone = strip_ungrounded(sections[name], known)
        removed += gone
    out["opportunities"] = []
    for opp in sections["opportunities"]:
        if opp["corner"] not in corners:
            removed.append(opp["corner"])
            continue
        change, gone = strip_ungrounded(opp["change"], known)
        time_ok = _time_ok(opp["time_s"], known)
        removed += gone if time_ok else [*gone, str(opp["time_s"])]
        out["opportunities"].append({**opp, "change": change, "time_s": opp["time_s"] if time_ok else None})
    return out, removed


# --------------------------------------------------------------------------- facts-only template


def facts_only_report(facts: dict[str, Any], *, notice: str = NO_KEY_NOTICE) -> dict[str, Any]:
    """The report written from the facts by a fixed template: no model, nothing invented."""
    return {
        "notice": notice,
        "summary": _summary(facts),
        "opportunities": [
            {"corner": o["corner"], "change": o["change"], "time_s": o["time_s"]}
            for o in facts["opportunities"]
        ],
        "tyres": _tyres(facts.get("tyres"), units_named(facts)),
        "brakes": _brakes(facts.get("brakes"), units_named(facts)),
        "fuel": _fuel(facts.get("fuel")),
        "consistency": _consistency(facts.get("consistency")),
        "plan": _plan(facts),
    }


def _summary(facts: dict[str, Any]) -> str:
    s, laps = facts["session"], facts["laps"]
    head = f"{s['kind'].capitalize()} at {s['track']} in the {s['car']}: {count(laps['total'], 'lap')}, {laps['green']} green."
    best = facts.get("best_lap")
    if best is None:
        return f"{head} No complete valid lap to analyse."
    text = f"{head} Best lap {best['time']} (lap {best['lap']})."
    theo = facts.get("theoretical_best")
    if theo and theo["gain_s"] > 0:
        text += f" Your best sectors add up to {theo['time']}, {theo['gain_s']} s quicker."
    return text


def _wheels(values: dict[str, float], unit: str) -> str:
    return ", ".join(f"{w.upper()} {v} {unit}" for w, v in values.items())


def units_named(facts: dict[str, Any]) -> dict[str, str]:
    """The units the facts' speeds, pressures and temperatures are in (facts.facts_in_units);
    facts stored before units existed are in the channel model's."""
    return facts.get("units") or STORED.as_dict()


def _tyres(tyres: dict[str, Any] | None, units: dict[str, str]) -> str:
    if not tyres:
        return "No tyre data."
    lo, hi = tyres["window_c"]
    off = [w.upper() for w, state in tyres["state"].items() if state != "in window"]
    verdict = f"outside the window: {', '.join(off)}" if off else "all in the window"
    deg = units["temperature"]
    text = f"Average temperatures {_wheels(tyres['avg_temp_c'], deg)} (window {lo}–{hi} {deg}), {verdict}."
    if "avg_pressure_kpa" in tyres:
        plo, phi = tyres["pressure_window_kpa"]
        off_p = [w.upper() for w, state in tyres["pressure_state"].items() if state != "in window"]
        verdict_p = f"outside the window: {', '.join(off_p)}" if off_p else "all in the window"
        press = units["pressure"]
        text += f" Pressures {_wheels(tyres['avg_pressure_kpa'], press)} (window {plo}–{phi} {press}), {verdict_p}."
    return text


def _brakes(brakes: dict[str, Any] | None, units: dict[str, str]) -> str:
    if not brakes:
        return "No brake temperature data."
    fading = [w.upper() for w, state in brakes["state"].items() if state == "fading"]
    deg = units["temperature"]
    verdict = (
        f"fading on {', '.join(fading)}"
        if fading
        else f"below the fade point of {brakes['fade_above_c']} {deg}"
    )
    return f"Peak temperatures {_wheels(brakes['max_temp_c'], deg)}: {verdict}."


def _fuel(fuel: dict[str, Any] | None) -> str:
    if not fuel:
        return "No fuel data."
    text = f"{fuel['per_lap_l']} l a lap on average."
    if "laps_left" in fuel:
        text += (
            f" {fuel['left_l']} l left at the end of your last green lap: {count(fuel['laps_left'], 'lap')}."
        )
    return text


def _consistency(cons: dict[str, Any] | None) -> str:
    if not cons:
        return "Not enough green laps to judge consistency."
    return (
        f"Over {count(cons['laps'], 'green lap')} your times spread {cons['spread_s']} s "
        f"(standard deviation {cons['std_dev_s']} s, average {cons['average']}); "
        f"{cons['within_half_second_of_best']} within half a second of your best."
    )


def _plan(facts: dict[str, Any]) -> str:
    opps = facts["opportunities"]
    if not opps:
        return "Drive more green laps so there is a best lap to compare with."
    steps = [f"{o['corner']}: {o['change']}" for o in opps]
    return "Next session, work on " + "; ".join(steps) + "."
