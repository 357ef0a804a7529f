"""Focus corners in the driver's units: a driver who reads mph reads mph and feet in the report,
on the progress page and on the live page; one who reads km/h keeps km/h and metres.

The demo sessions are test_progress's: session 1 brakes 10 m early for Les Combes on two laps
(a braking focus), the best lap takes Pouhon 5 km/h faster than the others (a speed focus).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from apps.accounts.models import UnitPreference
from apps.coaching.lib.focus_words import change_words, target_words
from apps.coaching.models import FocusCorner
from apps.coaching.reports import report_facts
from simcoach_site.lib.units import IMPERIAL, M_PER_FT, METRIC

from .test_progress import LC, POUHON, _session

pytestmark = pytest.mark.django_db


def _sessions(driver: Any) -> tuple[Any, Any]:
    """Session 1 opens the Les Combes braking focus (its report); a minimum-speed focus at
    Pouhon is opened by hand (the demo car brakes earlier wherever it is slower, so a report
    would propose a braking one); session 2 reviews both."""
    s1 = _session(driver, 1, laps=4, brake_earlier_m={LC: 10}, per_lap={2: {"brake_earlier_m": {LC: -10}}})
    s2 = _session(driver, 2, laps=4)
    return s1, s2


def _speed_focus(s1: Any) -> FocusCorner:
    return FocusCorner.objects.create(
        owner_id=s1.owner_id,
        track_id=s1.track_id,
        car_id=s1.car_id,
        corner=POUHON,
        kind="min_speed",
        target=200.0,
        baseline=190.0,
        opened_in=s1,
    )


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return float(found.group(1).replace("−", "-"))


def test_an_imperial_driver_reads_mph_and_feet_wherever_a_focus_appears(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    UnitPreference.objects.create(user=driver, speed="mph", pressure="psi", temperature="°F")
    s1, s2 = _sessions(driver)
    (lc,) = report_facts(session=s1)["focus"]
    brake = FocusCorner.objects.get(corner=LC)
    # The sentence and its fields say the same numbers, in feet
    assert lc["unit"] == "ft" and lc["target"] == pytest.approx(brake.target / M_PER_FT, abs=0.1)
    assert _number(r"brake at (\d+) ft or later", lc["said"]) == pytest.approx(brake.target / M_PER_FT, abs=1)
    assert _number(r"\(now (\d+) ft\)", lc["said"]) == pytest.approx(brake.baseline / M_PER_FT, abs=1)
    speed = _speed_focus(s1)
    # The next session reviews them: where they are and how far they moved, in feet and mph
    reviewed = {f["corner"]: f for f in report_facts(session=s2)["focus"]}
    lc_said, pouhon = reviewed[LC]["said"], reviewed[POUHON]
    assert _number(r"median \d+ ft, (\d+) ft later", lc_said) == pytest.approx(10 / M_PER_FT, abs=7)
    assert reviewed[LC]["change"] == pytest.approx(10 / M_PER_FT, abs=7)
    assert pouhon["unit"] == "mph" and pouhon["target"] == pytest.approx(200 / 1.609344, abs=0.1)
    assert "(carry at least 124.3 mph)" in pouhon["said"]
    assert _number(r"median ([\d.]+) mph", pouhon["said"]) == pytest.approx(pouhon["value"], abs=0.05)
    assert _number(r"([−+][\d.]+) mph since last time", pouhon["said"]) == pytest.approx(
        pouhon["change"], abs=0.05
    )
    assert pouhon["change"] == pytest.approx(pouhon["value"] - 190 / 1.609344, abs=0.1)
    for said in (lc["said"], lc_said, pouhon["said"]):
        assert "km/h" not in said and not re.search(r"\d m\b", said), said
    # The progress page and the live page, for the driver who chose mph
    FocusCorner.objects.filter(pk__in=[brake.pk, speed.pk]).update(status="open")  # still worked on
    client.force_login(driver)
    progress = client.get(f"/progress/?track={s1.track_id}&car={s1.car_id}").content.decode()
    live = client.get("/live/").content.decode()
    for html in (progress, live):
        panel = html[html.index("Focus corners") :].split("</ul>")[0]
        assert re.search(r"brake at \d+ ft or later", panel) and "carry at least 124.3 mph" in panel, panel
        assert " m or later" not in panel and "km/h" not in panel


def test_a_metric_driver_keeps_kmh_and_metres(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    UnitPreference.objects.create(user=driver, speed="km/h", pressure="bar", temperature="°C")
    s1, _ = _sessions(driver)
    (lc,) = report_facts(session=s1)["focus"]
    brake = FocusCorner.objects.get(corner=LC)
    assert lc["unit"] == "m" and lc["target"] == brake.target
    assert _number(r"brake at (\d+) m or later", lc["said"]) == pytest.approx(brake.target, abs=1)
    _speed_focus(s1)
    client.force_login(driver)
    progress = client.get(f"/progress/?track={s1.track_id}&car={s1.car_id}").content.decode()
    panel = progress[progress.index("Focus corners") :].split("</ul>")[0]
    assert re.search(r"brake at \d+ m or later", panel) and "carry at least 200.0 km/h" in panel


def test_the_words_convert_changes_without_an_offset() -> None:
    assert target_words("brake", 1000.0, IMPERIAL) == "brake at 3281 ft or later"
    assert target_words("brake", 1000.0, METRIC) == "brake at 1000 m or later"
    assert target_words("min_speed", 160.9344, IMPERIAL) == "carry at least 100.0 mph"
    assert change_words("brake", -30.48, IMPERIAL) == "100 ft earlier"
    assert change_words("brake", 0.5, IMPERIAL) == "no change"
    assert change_words("min_speed", -8.04672, IMPERIAL) == "−5.0 mph"
    assert change_words("min_speed", 2.0, METRIC) == "+2.0 km/h"
