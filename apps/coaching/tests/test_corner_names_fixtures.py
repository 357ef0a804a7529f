"""Curated corner names on the real recordings they were measured on.

Each recording goes through the site's importer and the same analysis the live path runs
(lap_analyse on every lap, which makes the track's one corner set on its best green lap).
The names must come out in lap order, each where the track has it; a track with no curated
names numbers its corners T1, T2, ... by lap order; an admin's rename beats the curated name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.test import Client

from apps.coaching.services import _detect_on, lap_analyse
from apps.sessions.models import Session, Track
from apps.sessions.services_import import session_import
from simcoach_agent.corner_names import names_for

pytestmark = [pytest.mark.django_db, pytest.mark.fixtures]

G61 = "garage61/Garage 61 - "
APEX_TOLERANCE_M = 60.0  # the best lap's apex against the entry's (median of several laps)


@dataclass(frozen=True)
class Named:
    path: str
    # The set the best lap makes: (name, apex in metres from the line), in lap order.
    corners: tuple[tuple[str, float], ...]
    given: dict[str, str] = field(default_factory=dict)  # what the import form adds


CASES = {
    "road_america_ams2": Named(
        "crewchief/session_1683388042_df.csv.gz",
        (
            ("Turn 1", 647),
            ("Turn 3", 1117),
            ("Turn 5", 2307),
            ("Turn 6", 2604),
            ("Turn 7", 2861),
            ("Turn 8", 3252),
            ("Carousel", 3675),
            ("Canada Corner", 5102),
            ("Turn 14", 5753),
        ),
    ),
    "lime_rock_ac_chicane": Named(
        # Big Bend has two apexes: this best lap is slowest at the first (the entry's 421 m is
        # the median over all laps, which mostly are slowest at the second)
        "crewchief/session_1673613558_df.csv.gz",
        (("Big Bend", 347), ("Lefthander", 688), ("Uphill", 1210)),
    ),
    "lime_rock_gp_garage61": Named(
        f"{G61}Master Lonn - Ray FF1600 - Lime Rock Park (Grand Prix) - 00.57.444 - 01KDQZM87N38QEV1M09J43APE5.csv",
        (("Big Bend", 414), ("Lefthander", 634), ("Uphill", 1194), ("West Bend", 1566), ("Downhill", 1970)),
        {"track": "Lime Rock Park (Grand Prix)", "car": "Ray FF1600"},
    ),
    "road_atlanta_garage61": Named(
        "garage61/sample_lap.csv.gz",
        (
            ("Turn 1", 464),
            ("Turn 3", 821),
            ("Turn 4", 1418),
            ("Turn 6", 1964),
            ("Turn 7", 2137),
            ("Turn 10a", 3482),
        ),
        {"track": "Road Atlanta", "car": "Mazda MX-5 Cup"},
    ),
    # The best lap dips only at Turns 1-2 (the truck is near flat through Turns 3-4)
    "bristol_ibt": Named(
        "iracing/trucks_silverado2019_bristol_2025-11-06_17-39-03.ibt", (("Turns 1-2", 200),)
    ),
}
WINTON = (
    f"{G61}Lonn Ponn - Ray FF1600 - Winton Motor Raceway (National Circuit) - 01.26.439 - "
    "01KDAWVAEK79DMWXX8A1H9NYN4.csv"
)


def _import_and_analyse(owner, fixtures_dir: Path, path: str, given: dict[str, str], capture) -> Session:  # type: ignore[no-untyped-def]
    with (fixtures_dir / path).open("rb") as f:
        session = session_import(
            owner=owner,
            fileobj=f,
            filename=Path(path).name,
            kind="practice",
            track=given.get("track"),
            car=given.get("car"),
        ).session
    with capture(execute=True):
        for lap in session.laps.order_by("number"):
            lap_analyse(lap_id=lap.pk)
    return Session.objects.select_related("track").get(pk=session.pk)


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_the_curated_names_come_out_where_the_track_has_them(  # type: ignore[no-untyped-def]
    case: Named, driver, fixtures_dir: Path, isolated_trace_store, django_capture_on_commit_callbacks
) -> None:
    session = _import_and_analyse(
        driver, fixtures_dir, case.path, case.given, django_capture_on_commit_callbacks
    )
    assert names_for(session.track.name) is not None, session.track.name  # the importer's name is an alias
    got = [(c["name"], c["apex_m"]) for c in session.track.corners]
    assert [name for name, _ in got] == [name for name, _ in case.corners]
    for (name, apex), (_, want) in zip(got, case.corners, strict=True):
        assert abs(apex - want) <= APEX_TOLERANCE_M, (name, apex, want)
    assert [c["apex_m"] for c in session.track.corners] == sorted(c["apex_m"] for c in session.track.corners)
    # Every whole lap is measured on the same set, by the same names
    for lap in session.laps.all():
        analysed = [c["name"] for c in lap.stats["analysis"]["corners"]]
        assert set(analysed) <= {name for name, _ in case.corners}, (lap.number, analysed)


def test_a_track_without_names_numbers_its_corners_in_lap_order(  # type: ignore[no-untyped-def]
    driver, fixtures_dir: Path, isolated_trace_store, django_capture_on_commit_callbacks
) -> None:
    given = {"track": "Winton Motor Raceway (National Circuit)", "car": "Ray FF1600"}
    session = _import_and_analyse(driver, fixtures_dir, WINTON, given, django_capture_on_commit_callbacks)
    assert names_for(session.track.name) is None
    corners = session.track.corners
    assert [c["name"] for c in corners] == [f"T{n}" for n in range(1, 11)]
    assert [c["apex_m"] for c in corners] == sorted(c["apex_m"] for c in corners)


def test_an_admins_rename_beats_the_curated_name(  # type: ignore[no-untyped-def]
    client: Client,
    admin_user,
    driver,
    fixtures_dir: Path,
    isolated_trace_store,
    django_capture_on_commit_callbacks,
) -> None:
    case = CASES["lime_rock_gp_garage61"]
    session = _import_and_analyse(
        driver, fixtures_dir, case.path, case.given, django_capture_on_commit_callbacks
    )
    track = session.track
    corners = [dict(c) for c in track.corners]
    corners[0]["name"] = "Turn 1"  # the club's own numbering for Big Bend
    client.force_login(admin_user)
    form = {
        "name": track.name,
        "game": track.game,
        "length_m": track.length_m,
        "corners": json.dumps(corners),
    }
    assert client.post(f"/admin/racing_sessions/track/{track.pk}/change/", form).status_code == 302
    lap = session.laps.get()
    lap_analyse(lap_id=lap.pk)  # analysed on the curated names: done again with the admin's
    lap.refresh_from_db()
    names = [c["name"] for c in Track.objects.get(pk=track.pk).corners]
    assert names == ["Turn 1", "Lefthander", "Uphill", "West Bend", "Downhill"]
    assert [c["name"] for c in lap.stats["analysis"]["corners"]] == names


def test_another_session_that_detects_an_extra_corner_keeps_the_layouts_numbers(  # type: ignore[no-untyped-def]
    driver, stranger, fixtures_dir: Path, isolated_trace_store, django_capture_on_commit_callbacks
) -> None:
    # Okayama's short layout has no curated names. Its best lap (5) dips five times; lap 2
    # dips six times (an extra one at ≈ 1 330 m between T4 and T5).
    path = "crewchief/session_1694266648_df.csv.gz"
    first = _import_and_analyse(driver, fixtures_dir, path, {}, django_capture_on_commit_callbacks)
    numbered = first.track.corners
    assert [c["name"] for c in numbered] == ["T1", "T2", "T3", "T4", "T5"]
    # The same layout driven by someone else, whose best lap is lap 2 (lap 5 invalid here)
    with (fixtures_dir / path).open("rb") as f:
        second = session_import(owner=stranger, fileobj=f, filename=Path(path).name).session
    assert second.track_id == first.track_id
    lap2 = second.laps.get(number=2)
    second.laps.filter(number=5).update(valid=False)
    detected, _ = _detect_on(lap2)
    assert len(detected) == 6  # on its own this lap would number six corners
    with django_capture_on_commit_callbacks(execute=True):
        for lap in second.laps.order_by("number"):
            lap_analyse(lap_id=lap.pk)
    assert Track.objects.get(pk=first.track_id).corners == numbered
    lap2.refresh_from_db()
    on_lap2 = lap2.stats["analysis"]["corners"]
    assert [c["name"] for c in on_lap2] == ["T1", "T2", "T3", "T4", "T5"]
    # T5 is still the last corner (≈ 1 500 m), not the extra dip at ≈ 1 330 m
    assert abs(on_lap2[-1]["apex_m"] - numbered[-1]["apex_m"]) < 60
