import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from apps.sessions.lib.imports import ImportFormatError, import_crewchief, import_session

# file → (game, track, kind, complete laps we count, of which the game timed, track length in m)
SESSIONS = {
    "session_1683388042_df.csv.gz": ("ams2", "Road_America:Road_America_RC", "race", 16, 16, 6500),
    # iRacing posts -1 for its two pit laps (189 s and 180 s)
    "session_1681021274_df.csv.gz": ("iracing", "magnycours gp", "practice", 8, 6, 4410),
    "session_1673613558_df.csv.gz": ("ac", "rt_lime_rock_park:chicane", "qualifying", 15, 15, 2400),
}


def _load(fixtures_dir: Path, name: str):
    with (fixtures_dir / "crewchief" / name).open("rb") as f:
        return import_session(f)


@pytest.fixture(scope="module", params=sorted(SESSIONS))
def session(request, fixtures_dir: Path):
    return request.param, _load(fixtures_dir, request.param)


def test_it_reads_session_metadata(session) -> None:
    name, s = session
    game, track, kind, *_ = SESSIONS[name]
    assert (s.source_format, s.game, s.track, s.kind) == ("crewchief_csv", game, track, kind)
    assert s.started_at is not None and s.started_at.utcoffset().total_seconds() == 0
    assert s.car


def test_it_counts_complete_laps_between_two_lap_changes(session) -> None:
    name, s = session
    complete = [lap for lap in s.laps if lap.complete]
    assert len(complete) == SESSIONS[name][3]
    assert not s.laps[0].complete and not s.laps[-1].complete
    numbers = [lap.number for lap in s.laps]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_it_times_laps_like_the_game(session) -> None:
    name, s = session
    timed = [
        lap
        for lap in s.laps
        if lap.complete and lap.time_s != pytest.approx(lap.end_t - lap.start_t, abs=1e-9)
    ]
    errors = np.array([lap.end_t - lap.start_t - lap.time_s for lap in timed])
    assert len(timed) == SESSIONS[name][4]
    # valid laps: our line crossings agree with the game's LapTimePrevious
    assert all(abs(e) <= 0.05 for e, lap in zip(errors, timed, strict=True) if lap.valid)
    # invalid laps too, except where the game clock stopped (a pause, Lime Rock lap 12: +4.9 s)
    assert np.mean(np.abs(errors) <= 0.05) >= 0.85


def test_it_estimates_the_track_length(session) -> None:
    name, s = session
    expected = SESSIONS[name][5]
    # Lime Rock's chicane layout measures 2 343 m by AC's own lap distance, 2.4 % under 2.4 km
    assert s.track_length_m == pytest.approx(expected, rel=0.03 if "lime" in s.track else 0.02)


def test_it_maps_channels_into_our_units(session) -> None:
    _, s = session
    ch = s.channels
    assert np.all(np.diff(ch["t"]) > 0)
    assert np.nanmin(ch["speed"]) >= 0 and np.nanmax(ch["speed"]) < 400
    for pedal in ("throttle", "brake", "clutch"):
        assert np.nanmin(ch[pedal]) >= 0 and np.nanmax(ch[pedal]) <= 1
    assert set(np.unique(ch["gear"][np.isfinite(ch["gear"])])) <= set(range(-1, 9))
    lap = ch["lap"]
    assert all(
        np.nanmax(ch["lap_dist"][lap == n.number]) < 1.02 * s.track_length_m for n in s.laps if n.complete
    )
    assert "currentlaptime" in s.extra and s.extra_units["currentlaptime"] == "s"


def test_it_reads_world_positions_when_present(fixtures_dir: Path) -> None:
    s = _load(fixtures_dir, "session_1683388042_df.csv.gz")
    assert {"pos_x", "pos_y", "pos_z"} <= set(s.channels)
    assert np.nanmax(s.channels["pos_x"]) - np.nanmin(s.channels["pos_x"]) > 500


def test_it_reads_a_single_partial_lap(fixtures_dir: Path) -> None:
    s = _load(fixtures_dir, "lap_40781_df.csv.gz")
    assert [(lap.number, lap.complete) for lap in s.laps] == [(18, False)]
    assert s.track_length_m is None and s.warnings


FLUX = """#group,false,false,true,false,false,false,false
#datatype,string,long,string,dateTime:RFC3339,long,double,double
#default,_result,,,,,,
,result,table,GameName,_time,CurrentLap,SpeedMs,LapTimePrevious
,,0,Automobilista 2,2024-01-01T00:00:10Z,2,50,60.5
,,0,Automobilista 2,2024-01-01T00:00:00Z,1,50,-1
,,0,Automobilista 2,2024-01-01T00:01:10Z,3,50,60

#group,false,false,true,false,false,false,false
#datatype,string,long,string,dateTime:RFC3339,long,double,double
#default,_result,,,,,,
,result,table,GameName,_time,CurrentLap,SpeedMs,LapTimePrevious
,,1,Automobilista 2,2024-01-01T00:00:40Z,2,50,60.5
,,1,Automobilista 2,2024-01-01T00:01:20Z,3,50,60
"""


def test_it_reads_annotated_flux_tables_out_of_order() -> None:
    s = import_crewchief(FLUX.splitlines(keepends=True))
    assert s.game == "ams2" and s.channels["t"].tolist() == [0, 10, 40, 70, 80]
    assert [(lap.number, lap.complete) for lap in s.laps] == [(1, False), (2, True), (3, False)]
    assert s.laps[1].time_s == 60.0  # LapTimePrevious at the end of the next lap
    assert s.track_length_m == pytest.approx(3000)  # 50 m/s for 60 s


def test_it_names_a_csv_without_header(fixtures_dir: Path) -> None:
    lines = gzip.decompress((fixtures_dir / "crewchief" / "lap_40781_df.csv.gz").read_bytes()).decode()
    with pytest.raises(ImportFormatError, match="Crew Chief CSV: line 1 has data before any header row"):
        import_crewchief(lines.splitlines(keepends=True)[1:])


def test_it_names_a_truncated_gzip(fixtures_dir: Path) -> None:
    raw = (fixtures_dir / "crewchief" / "session_1673613558_df.csv.gz").read_bytes()
    with pytest.raises(
        ImportFormatError, match="(gzip: .*cut short|Crew Chief CSV: line \\d+ has \\d+ cells)"
    ):
        import_session(io.BytesIO(raw[: len(raw) // 2]))
