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

import numpy as np
import pytest
from django.test import Client

from apps.coaching.services import _detect_on, _named, lap_analyse
from apps.sessions.models import Session, Track
from apps.sessions.services_import import session_import
from apps.traces.lib.analysis import detect_corners, resample_by_distance
from apps.traces.selectors import lap_trace
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
        (("Big Bend", 347), ("Lefthander", 688), ("Uphill Chicane", 1210)),
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


# ---- ACC's own .ld files: no lap markers, so no green lap and no corner set on import; the
# names serve live ACC laps. The recordings are checked here the way the entries were measured.
IMOLA = "acc/Imola-porsche_991ii_gt3_r-2-2021.12.02-21.13.58.ld"
BARCELONA = "acc/Barcelona-bmw_m4_gt3-3-2024.06.12-18.40.53"


def _acc_trace(
    driver, fixtures_dir: Path, path: str, ldx: str | None
) -> tuple[Session, dict[str, np.ndarray]]:  # type: ignore[no-untyped-def]
    with (fixtures_dir / path).open("rb") as f:
        sidecar = (fixtures_dir / ldx).read_bytes() if ldx else None
        session = session_import(owner=driver, fileobj=f, filename=Path(path).name, ldx=sidecar).session
    (lap,) = session.laps.all()  # one untimed stretch: ACC wrote no lap markers
    return session, lap_trace(lap=lap, channels=["lap_dist", "speed"])


def _named_on(track_name: str, trace: dict[str, np.ndarray], start_m: float, length_m: float) -> list[dict]:  # type: ignore[type-arg]
    keep = trace["lap_dist"] >= start_m
    lap = {k: v[keep] for k, v in trace.items()}
    lap["lap_dist"] = lap["lap_dist"] - start_m
    corners = detect_corners(resample_by_distance(lap, length_m=length_m))
    return _named(track_name, [c.to_dict() for c in corners], length_m)


def test_imolas_flying_lap_names_its_corners(driver, fixtures_dir: Path, isolated_trace_store) -> None:  # type: ignore[no-untyped-def]
    session, trace = _acc_trace(driver, fixtures_dir, IMOLA, None)
    names = names_for(session.track.name)
    assert session.track.name == "Imola" and names is not None
    end = float(np.nanmax(trace["lap_dist"]))
    # Out-lap and flying lap: each dip of the flying lap repeats one of the out-lap's a lap later
    whole = [c.apex_m for c in detect_corners(resample_by_distance(trace, length_m=end))]
    repeats = [b - a for a in whole for b in whole if 4700 < b - a < 5000]
    assert len(repeats) >= 7 and abs(float(np.median(repeats)) - names.length_m) < 15
    # The recording stops on the line: the flying lap is its last lap length
    named = _named_on(session.track.name, trace, end - names.length_m, names.length_m)
    assert [c["name"] for c in named] == [c.name for c in names.corners]
    assert "Tamburello" in [c["name"] for c in named] and "Rivazza 2" in [c["name"] for c in named]
    for got, want in zip(named, names.corners, strict=True):
        assert abs(got["apex_m"] - want.apex_m) < 30, (got, want)


def test_barcelonas_flying_lap_names_its_corners(driver, fixtures_dir: Path, isolated_trace_store) -> None:  # type: ignore[no-untyped-def]
    session, trace = _acc_trace(driver, fixtures_dir, f"{BARCELONA}.ld", f"{BARCELONA}.ldx")
    names = names_for(session.track.name)
    assert session.track.name == "Barcelona" and names is not None
    speed = trace["speed"][np.isfinite(trace["speed"])]
    assert abs(speed[0] - speed[-1]) < 2  # line to line: the lap ends as fast as it began
    named = _named_on(session.track.name, trace, 0.0, float(np.nanmax(trace["lap_dist"])))
    assert [c["name"] for c in named] == [c.name for c in names.corners]
    assert ("Campsa", "Turn 10") == (named[5]["name"], named[6]["name"])
