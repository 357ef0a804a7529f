"""The report's shape: the JSON schema the model must follow, the prompt, the checks, and the
deterministic template used when no model is configured. Pure: dicts in, dicts out.
"""

from __future__ import annotations

import json
from typing import Any, Final

from simcoach_site.lib.words import count

from .factref import render
from .grounding import check

PROMPT_VERSION: Final = "report-v2"
TEXT_FIELDS: Final = ("summary", "tyres", "brakes", "fuel", "consistency", "plan")
MAX_OPPORTUNITIES: Final = 3
NO_KEY_NOTICE: Final = "Written from your data without AI: no OpenAI key configured."

_OPPORTUNITY: Final = {
    "type": "object",
    "properties": {"corner": {"type": "string"}, "change": {"type": "string"}},
    "required": ["corner", "change"],
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
Use ONLY the facts in the JSON document you are given. NEVER write a number yourself, neither
in digits nor in words: cite each number by its fact id in braces and the site fills it in,
with its unit. A fact id is the key path in the document, keys joined by dots:
{best_lap} (the best lap's time), {best_lap.lap}, {theoretical_best.gain_s},
{consistency.std_dev_s}, {tyres.avg_temp_c.fl}, {fuel.laps_left}. Pick one item of a list by its
name: {corner:La Source.time_lost_s}, {corner:La Source.brake_point_vs_best_m}, {lap:7.time}.
Do not write the unit after an id ("{theoretical_best.gain_s} quicker", not "... s quicker"),
and cite the fact that means what your sentence says: "your best lap" is {best_lap}, never
another lap's time; nothing is a percentage unless its id ends in _pct.
In "corners" and "opportunities", time_lost_s is the average time lost per lap against the best
lap; brake_point_vs_best_m < 0 means the driver braked earlier than on the best lap (the site
shows its size, your words give the direction: "brake {corner:X.brake_point_vs_best_m} later").
The site renders each id in the units the driver reads (the facts' "units" names them).
Write plain, direct English addressed to the driver ("you"). Fields:
- summary: two or three sentences on the session.
- opportunities: up to three, taken from the facts' opportunities in order: the corner's name
  exactly as in the facts and the change to make (the site adds the time to gain).
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
        "content": f"Your report has problems: {listed}. Rewrite it in the same JSON shape, citing "
        "every number by its fact id in braces (never in digits or words) and only corner names "
        "that appear in the facts.",
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
        if not isinstance(item.get("change", ""), str):
            raise ReportFormatError("an opportunity's change is not text")
        out.append({"corner": item["corner"], "change": item.get("change", "")})
    return out


def grounding_problems(sections: dict[str, Any], facts: dict[str, Any]) -> list[str]:
    """What the report says that the facts do not: numbers, references, and corner names."""
    problems = [p for text in _texts(sections) for p in check(text, facts).problems]
    corners = {c["corner"] for c in facts.get("corners", [])}
    names = [o["corner"] for o in sections["opportunities"] if o["corner"] not in corners]
    return problems + [f"the corner {name!r} is not in the facts" for name in names]


def _texts(sections: dict[str, Any]) -> list[str]:
    return [sections[name] for name in TEXT_FIELDS] + [o["change"] for o in sections["opportunities"]]


def ground_report(sections: dict[str, Any], facts: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The report as stored: free numbers bound to fact ids, what cannot be bound stripped
    (shown as [?]) and listed, and each opportunity's time taken from the facts, never the model.
    """
    removed: list[str] = []
    out: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        checked = check(sections[name], facts)
        out[name] = checked.stripped
        removed += checked.removed
    by_name = {c["corner"]: c for c in facts.get("corners", [])}
    out["opportunities"] = []
    for opp in sections["opportunities"]:
        corner = by_name.get(opp["corner"])
        if corner is None:
            removed.append(opp["corner"])
            continue
        checked = check(opp["change"], facts)
        removed += checked.removed
        out["opportunities"].append(
            {
                "corner": opp["corner"],
                "change": checked.stripped,
                "time_s": corner["time_lost_s"],
                "time": f"{{corner:{opp['corner']}.time_lost_s}}",
            }
        )
    return out, removed


def render_sections(sections: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    """A stored report as a reader sees it: every fact id replaced by its value, in the units
    the facts were written in (facts.facts_in_units)."""
    out = {k: render(v, facts) if isinstance(v, str) else v for k, v in sections.items()}
    out["opportunities"] = [
        {k: render(v, facts) if isinstance(v, str) else v for k, v in o.items()}
        for o in sections.get("opportunities", [])
    ]
    return out


# --------------------------------------------------------------------------- facts-only template


def facts_only_report(facts: dict[str, Any], *, notice: str = NO_KEY_NOTICE) -> dict[str, Any]:
    """The report written from the facts by a fixed template: no model, nothing invented.

    Its measured numbers are fact ids too, so they render through the same function, in the
    reader's units, as a model's report; counts of laps are written as they are.
    """
    return {
        "notice": notice,
        "summary": _summary(facts),
        "opportunities": [
            {
                "corner": o["corner"],
                "change": o["change"],
                "time_s": o["time_s"],
                "time": f"{{corner:{o['corner']}.time_lost_s}}",
            }
            for o in facts["opportunities"]
        ],
        "tyres": _tyres(facts.get("tyres")),
        "brakes": _brakes(facts.get("brakes")),
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
    text = f"{head} Best lap {{best_lap}} (lap {best['lap']})."
    theo = facts.get("theoretical_best")
    if theo and theo["gain_s"] > 0:
        text += " Your best sectors add up to {theoretical_best}, {theoretical_best.gain_s} quicker."
    return text


def _wheels(group: str, values: dict[str, float]) -> str:
    return ", ".join(f"{w.upper()} {{{group}.{w}}}" for w in values)


def _tyres(tyres: dict[str, Any] | None) -> str:
    if not tyres:
        return "No tyre data."
    off = [w.upper() for w, state in tyres["state"].items() if state != "in window"]
    verdict = f"outside the window: {', '.join(off)}" if off else "all in the window"
    text = (
        f"Average temperatures {_wheels('tyres.avg_temp_c', tyres['avg_temp_c'])} "
        f"(window {{tyres.window_c.0}}–{{tyres.window_c.1}}), {verdict}."
    )
    if "avg_pressure_kpa" in tyres:
        off_p = [w.upper() for w, state in tyres["pressure_state"].items() if state != "in window"]
        verdict_p = f"outside the window: {', '.join(off_p)}" if off_p else "all in the window"
        text += (
            f" Pressures {_wheels('tyres.avg_pressure_kpa', tyres['avg_pressure_kpa'])} "
            f"(window {{tyres.pressure_window_kpa.0}}–{{tyres.pressure_window_kpa.1}}), {verdict_p}."
        )
    return text


def _brakes(brakes: dict[str, Any] | None) -> str:
    if not brakes:
        return "No brake temperature data."
    fading = [w.upper() for w, state in brakes["state"].items() if state == "fading"]
    verdict = f"fading on {', '.join(fading)}" if fading else "below the fade point of {brakes.fade_above_c}"
    return f"Peak temperatures {_wheels('brakes.max_temp_c', brakes['max_temp_c'])}: {verdict}."


def _fuel(fuel: dict[str, Any] | None) -> str:
    if not fuel:
        return "No fuel data."
    text = "{fuel.per_lap_l} a lap on average."
    if "laps_left" in fuel:
        text += f" {{fuel.left_l}} left at the end of your last green lap: {count(fuel['laps_left'], 'lap')}."
    return text


def _consistency(cons: dict[str, Any] | None) -> str:
    if not cons:
        return "Not enough green laps to judge consistency."
    return (
        f"Over {count(cons['laps'], 'green lap')} your times spread {{consistency.spread_s}} "
        "(standard deviation {consistency.std_dev_s}, average {consistency.average}); "
        f"{cons['within_half_second_of_best']} within {{consistency.near_best_s}} of your best."
    )


def _plan(facts: dict[str, Any]) -> str:
    opps = facts["opportunities"]
    if not opps:
        return "Drive more green laps so there is a best lap to compare with."
    steps = [f"{o['corner']}: {o['change']}" for o in opps]
    return "Next session, work on " + "; ".join(steps) + "."
