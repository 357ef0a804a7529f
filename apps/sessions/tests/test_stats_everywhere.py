"""One session, one set of numbers: the session page, the API, the archive list, the live
snapshot and the report facts agree, on a real Crew Chief recording."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest
from django.test import Client

from apps.coaching.reports import report_facts
from apps.sessions.models import Lap, Session
from apps.sessions.selectors import session_live_snapshot
from apps.sessions.services_import import session_import
from apps.sessions.templatetags.laptimes import laptime

pytestmark = [pytest.mark.django_db, pytest.mark.fixtures, pytest.mark.usefixtures("isolated_trace_store")]

MAGNY_COURS = "crewchief/session_1681021274_df.csv.gz"


@pytest.fixture
def magny_cours(driver, fixtures_dir: Path) -> Session:  # type: ignore[no-untyped-def]
    path = fixtures_dir / MAGNY_COURS
    with path.open("rb") as f:
        return session_import(owner=driver, fileobj=f, filename=path.name).session


def _stat(html: str, label: str) -> str:
    found = re.search(rf"<small>{label}</small><b[^>]*>([^<]*)</b>", html)
    assert found, f"no {label!r} on the page"
    return found.group(1).strip()


def test_it_shows_the_same_numbers_on_every_page(client: Client, driver, magny_cours: Session) -> None:  # type: ignore[no-untyped-def]
    # Make lap 3 (game-timed) a fast partial lap (as a stream joined mid-lap records one): no
    # page may pick it as best or count it in consistency.
    laps = list(magny_cours.laps.order_by("number"))
    Lap.objects.filter(pk=laps[2].pk).update(time_ms=90_000, stats={**laps[2].stats, "partial": True})
    client.force_login(driver)
    api = client.get(f"/api/sessions/{magny_cours.pk}/").json()
    page = client.get(f"/sessions/{magny_cours.pk}/").content.decode()
    listed = client.get("/api/sessions/").json()["results"][0]
    facts = report_facts(session=magny_cours)
    snapshot = session_live_snapshot(session=magny_cours)

    # The truth, from the file's complete laps that the game timed (laps 2 and 8 it did not).
    green = [
        lap.time_ms
        for lap in magny_cours.laps.order_by("number")
        if lap.stats["complete"] and lap.stats["timing"] == "game"
    ]
    green = [t for t in green if t != 90_000]
    assert api["green_laps"] == facts["laps"]["green"] == len(green) == 6
    assert api["best_lap_ms"] == listed["best_lap_ms"] == snapshot["best_lap_ms"] == min(green) == 99_067
    assert _stat(page, "Best lap") == facts["best_lap"]["time"] == laptime(min(green)) == "1:39.067"
    assert api["consistency_ms"] == pytest.approx(statistics.stdev(green))
    assert _stat(page, "Consistency") == f"± {api['consistency_ms'] / 1000:.3f} s"
    assert facts["consistency"]["std_dev_s"] == round(api["consistency_ms"] / 1000, 2)
    assert facts["consistency"]["average"] == laptime(api["average_ms"])
    # Crew Chief records no sectors: no page may invent a theoretical best.
    assert api["theoretical_best_ms"] is None and facts["theoretical_best"] is None
    assert _stat(page, "Theoretical best") == "–"
    assert [lap["green"] for lap in api["laps"]] == [row["green"] for row in facts["laps"]["list"]]


def test_it_sums_the_same_sectors_on_the_page_the_api_and_the_report(
    client: Client, driver, magny_cours: Session
) -> None:  # type: ignore[no-untyped-def]
    # The same file with sectors written in, one lap split into four with an empty S2 (the
    # resumed-stream fault): page, API and report leave it out alike.
    for lap in magny_cours.laps.exclude(time_ms=None):
        third = lap.time_ms // 3
        lap.sector_ms = [third, third + lap.number, lap.time_ms - 2 * third - lap.number]
        lap.save(update_fields=["sector_ms"])
    broken = magny_cours.laps.get(number=5)
    broken.sector_ms = [30_000, 0, 34_000, 35_403]
    broken.save(update_fields=["sector_ms"])
    client.force_login(driver)
    api = client.get(f"/api/sessions/{magny_cours.pk}/").json()
    page = client.get(f"/sessions/{magny_cours.pk}/").content.decode()
    facts = report_facts(session=magny_cours)
    split = [
        lap.sector_ms for lap in magny_cours.laps.all() if len(lap.sector_ms) == 3 and lap.stats["complete"]
    ]
    sectors = [min(s[i] for s in split) for i in range(3)]
    assert api["best_sectors_ms"] == sectors
    assert api["theoretical_best_ms"] == sum(sectors)
    assert _stat(page, "Theoretical best") == facts["theoretical_best"]["time"] == laptime(sum(sectors))
    assert facts["theoretical_best"]["best_sectors"] == [laptime(s) for s in sectors]
