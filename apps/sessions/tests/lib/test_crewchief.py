import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from apps.sessions.lib.imports import ImportFormatError, import_crewchief, import_session

# file → (game, track, kind, complete laps, of which the game timed, track length in m);
# complete: line to line, or lap 1 when the game timed it from a standing or rolling start
SESSIONS = {
    "session_1683388042_df.csv.gz": ("ams2", "Road_America:Road_America_RC", "race", 17, 17, 6500),
    # iRacing posts -1 for its two pit laps (189 s and 180 s)
    "session_1681021274_df.csv.gz": ("iracing", "magnycours gp", "practice", 9, 7, 4410),
    "session_1673613558_df.csv.gz": ("ac", "rt_lime_rock_park:chicane", "qualifying", 16, 16, 2400),
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
    assert s.laps[0].complete and s.laps[0].timing == "game" and not s.laps[-1].complete
    numbers = [lap.number for lap in s.laps]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_it_times_laps_like_the_game(session) -> None:
    name, s = session
    timed = [lap for lap in s.laps if lap.timing == "game"]
    errors = np.array([lap.end_t - lap.start_t - lap.time_s for lap in timed[1:]])  # lap 1 may start early
    assert len(timed) == SESSIONS[name][4]
    assert all(lap.complete for lap in timed)
    # valid laps: our line crossings agree with the game's LapTimePrevious
    assert all(abs(e) <= 0.05 for e, lap in zip(errors, timed[1:], strict=True) if lap.valid)
    # invalid laps too, except where the game clock stopped (a pause, Lime Rock lap 12: +4.9 s)
    assert np.mean(np.abs(errors) <= 0.05) >= 0.85
    untimed = [lap for lap in s.laps if lap.timing != "game"]
    assert all(lap.timing == "untimed" and lap.time_s == lap.end_t - lap.start_t for lap in untimed)


def test_it_starts_a_game_timed_lap_one_at_its_time_before_its_end(fixtures_dir: Path) -> None:
    # Magny-Cours: the log holds an out-lap CurrentLap does not count before lap 1 (245.9 s
    # of log for iRacing's 100.818 s lap); the lap is the last 100.818 s of it
    s = _load(fixtures_dir, "session_1681021274_df.csv.gz")
    first = s.laps[0]
    assert (first.number, first.time_s, first.timing) == (1, 100.818, "game")
    assert first.end_t - first.start_t == pytest.approx(100.818) and first.start_t > 140
    assert s.channels["lap"][s.channels["t"] < first.start_t - 0.1].max() == 0  # in no lap


def test_it_marks_laps_the_game_did_not_time_and_partial_laps(fixtures_dir: Path) -> None:
    s = _load(fixtures_dir, "session_1680321341_df.csv.gz")
    by_number = {lap.number: lap for lap in s.laps}
    assert [n for n, lap in by_number.items() if lap.timing == "untimed"] == [2, 3, 4, 10, 11]
    assert [n for n, lap in by_number.items() if lap.partial] == [4, 11]  # 67 m and 82 m of 2 469 m
    assert by_number[4].time_s == pytest.approx(32.046, abs=0.01)  # its measured duration only
    assert by_number[1].time_s == pytest.approx(85.926, abs=1e-3)


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
    assert [(lap.number, lap.complete, lap.timing) for lap in s.laps] == [(18, False, "untimed")]
    assert s.track_length_m is None and s.warnings


def test_it_reads_a_rally_stage_without_laps(fixtures_dir: Path) -> None:
    s = _load(fixtures_dir, "session_1703706617_df.csv.gz")
    assert (s.game, s.track, s.laps, s.track_length_m) == ("rbr", "Saalahti", [], None)
    assert any("no laps" in w and "Richard Burns Rally" in w for w in s.warnings)
    assert set(s.channels["lap"].tolist()) == {0.0} and len(s.channels["t"]) > 2_000


@pytest.mark.parametrize(
    ("type_name", "kind", "warned"),
    [("Race", "race", False), ("LonePractice", "practice", True), ("Warmup", "practice", True)],
)
def test_it_maps_session_types_and_warns_when_it_guesses(type_name: str, kind: str, warned: bool) -> None:
    text = FLUX.replace(",result,table,GameName,", ",result,table,SessionTypeName,").replace(
        "Automobilista 2", type_name
    )
    s = import_crewchief(text.splitlines(keepends=True))
    assert s.kind == kind and any(type_name in w for w in s.warnings) == warned


def test_it_names_games_beyond_ours_by_a_short_name() -> None:
    s = import_crewchief(FLUX.replace("Automobilista 2", "Some Very Long Racing Game 2024").splitlines(True))
    assert s.game == "some_very_long_r" and len(s.game) <= 16


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
    # lap 1 ends on -1, lap 2 turns it to 60.5: the game timed lap 1 (a standing start)
    assert [(lap.number, lap.complete, lap.timing) for lap in s.laps] == [
        (1, True, "game"),
        (2, True, "game"),
        (3, False, "untimed"),
    ]
    assert (s.laps[0].time_s, s.laps[1].time_s) == (
        60.5,
        60.0,
    )  # LapTimePrevious's first change in the next lap
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
