"""rF2 and LMU: every 50 Hz frame in the lap, sector and place the game's fastest source says.

The pages come from isi_drive (telemetry at 50 Hz, scoring at 5 Hz, laid out from the
published structs); the truth is what the drive was built from.
"""

from collections.abc import Callable, Iterator

import pytest
from gamebytes import lmu_page, rf2_scoring, rf2_telemetry
from isi_drive import FLYING, LENGTH, OUT_LAP, T0, decoded_drive, lmu_polls, rf2_polls, truth
from test_rf2 import INFO, car, chunks, scored

from simcoach_agent.channels import Frame
from simcoach_agent.sources.lmu import LmuDecoder, split_page
from simcoach_agent.sources.rf2 import Rf2Decoder

Polls = Callable[..., Iterator[tuple[float, list[tuple[str, bytes]]]]]
GAMES = [pytest.param(Rf2Decoder, rf2_polls, id="rf2"), pytest.param(LmuDecoder, lmu_polls, id="lmu")]


def drive(decoder: type, polls: Polls) -> list[Frame]:
    """The whole drive through a fresh decoder (decoded once per process: seconds of CPU)."""
    return [dict(f) for f in decoded_drive(decoder, polls)]


@pytest.mark.parametrize(("decoder", "polls"), GAMES)
def test_every_frame_is_in_the_lap_and_sector_it_was_driven_in(decoder: type, polls: Polls) -> None:
    frames = drive(decoder, polls)
    assert len(frames) > 6500
    for f in frames:
        s = truth(round(f["t"] - T0, 6))
        assert (f["lap"], f["sector"]) == (s.lap, s.sector), s
        assert f["lap_dist"] == pytest.approx(s.dist, abs=0.01), s
        assert f["lap_time"] == pytest.approx(s.lap_time, abs=1e-6), s


@pytest.mark.parametrize(("decoder", "polls"), GAMES)
def test_the_frames_after_the_line_start_the_new_lap_before_scoring_counts_it(
    decoder: type, polls: Polls
) -> None:
    frames = drive(decoder, polls)
    line = FLYING.start + FLYING.time
    after = [f for f in frames if line <= f["t"] - T0 < line + 0.2]
    assert len(after) >= 9  # 50 Hz frames inside one 5 Hz scoring period
    assert all(f["lap"] == 3 and f["lap_dist"] < 12.0 and f["lap_time"] < 0.2 for f in after)
    before = [f for f in frames if f["lap"] == 2]
    assert max(f["lap_dist"] for f in before) <= LENGTH
    # the flying lap's trace runs exactly from line to line, to the frame
    span = before[-1]["t"] - before[0]["t"]
    assert FLYING.time - 0.02 <= span <= FLYING.time


@pytest.mark.parametrize(("decoder", "polls"), GAMES)
def test_the_games_splits_ride_along_once_the_lap_is_timed(decoder: type, polls: Polls) -> None:
    frames = drive(decoder, polls)
    timed = [f for f in frames if f["last_lap_time"] == pytest.approx(FLYING.time)]
    assert timed
    assert {(f["last_split1"], f["last_split2"]) for f in timed} == {(23.913, 23.913 + 25.536)}
    out_lap = [f for f in frames if f["last_lap_time"] == pytest.approx(OUT_LAP.time)]
    assert {(f["last_split1"], f["last_split2"]) for f in out_lap} == {OUT_LAP.splits}
    assert all(f["last_split1"] == f["last_split2"] == -1 for f in frames if f["last_lap_time"] < 0)


@pytest.mark.parametrize(("decoder", "polls"), GAMES)
def test_position_and_gaps_are_channels(decoder: type, polls: Polls) -> None:
    f = drive(decoder, polls)[-1]
    assert (f["position"], f["gap_ahead"], f["gap_leader"]) == (4, 1.25, 9.5)


@pytest.mark.parametrize(
    ("veh", "expected"),
    [
        ({"mPlace": 1, "mTimeBehindNext": 0.0, "mTimeBehindLeader": 0.0}, (1, -1, -1)),
        (
            {
                "mPlace": 7,
                "mTimeBehindNext": 3.5,
                "mLapsBehindNext": 1,
                "mTimeBehindLeader": 80.0,
                "mLapsBehindLeader": 2,
            },
            (7, -1, -1),
        ),  # fmt: skip
        ({"mPlace": 2, "mTimeBehindNext": float("nan"), "mTimeBehindLeader": 1e9}, (2, -1, -1)),
    ],
    ids=["leader", "laps-down", "garbage"],
)
def test_a_gap_that_is_not_a_time_is_none(veh: dict[str, float], expected: tuple[int, int, int]) -> None:
    f = Rf2Decoder().feed(chunks(rf2_telemetry([car()]), rf2_scoring(INFO, [scored(**veh)])), 1.0)
    assert f is not None and (f["position"], f["gap_ahead"], f["gap_leader"]) == expected


def test_splits_the_game_did_not_give_are_none() -> None:
    for s1, s2 in ((0.0, 0.0), (30.0, 20.0), (-1.0, 50.0)):
        veh = scored(mLastSector1=s1, mLastSector2=s2)
        f = Rf2Decoder().feed(chunks(rf2_telemetry([car()]), rf2_scoring(INFO, [veh])), 1.0)
        assert f is not None and (f["last_split1"], f["last_split2"]) == (-1, -1)


def test_a_newer_telemetry_lap_mid_lap_is_not_a_crossing() -> None:
    """Back to the garage or a reset restarts telemetry's lap clock away from the line."""
    veh = scored(mLapDist=1500.0, mLapStartET=40.0)  # 1.5 km into a 13.6 km lap
    f = Rf2Decoder().feed(chunks(rf2_telemetry([car(mLapStartET=95.0)]), rf2_scoring(INFO, [veh])), 1.0)
    assert f is not None and f["lap"] == 6 and f["lap_dist"] > 1500.0


def test_the_sector_comes_from_telemetry_and_the_pit_bit_is_dropped() -> None:
    pit_sector_3 = 0x8000_0002 - (1 << 32)
    for telemetry_sector, expected in ((1, 1), (pit_sector_3, 2)):
        tel = rf2_telemetry([car(mCurrentSector=telemetry_sector)])
        f = Rf2Decoder().feed(chunks(tel, rf2_scoring(INFO, [scored(mSector=1)])), 1.0)
        assert f is not None and f["sector"] == expected


def test_lmu_reads_the_same_scoring_fields() -> None:
    veh = scored(mPlace=3, mTimeBehindNext=0.5, mTimeBehindLeader=2.0, mLastSector1=20.0, mLastSector2=41.0)
    f = LmuDecoder().feed(split_page(lmu_page(INFO, [veh], [car()])), 1.0)
    assert f is not None
    assert (f["position"], f["gap_ahead"], f["gap_leader"]) == (3, 0.5, 2.0)
    assert (f["last_split1"], f["last_split2"]) == (20.0, 41.0)


@pytest.mark.parametrize(
    ("tel_start", "scoring_et", "lap"),
    [
        (70.004, 100.0, 6),  # the same lap start, read 4 ms apart: not a new lap
        (99.95, 100.0, 7),  # started 50 ms before scoring was written (and not seen): a new lap
        (90.0, 100.0, 6),  # a start scoring must have seen (written 10 s later): not a crossing
    ],
    ids=["same-start", "new-lap", "scoring-saw-it"],
)
def test_only_a_lap_scoring_could_not_know_of_is_a_crossing(
    tel_start: float, scoring_et: float, lap: int
) -> None:
    veh = scored(mLapDist=13_600.0, mLapStartET=70.0)  # the end of lap 6, started at ET 70
    sc = rf2_scoring({**INFO, "mCurrentET": scoring_et}, [veh])
    f = Rf2Decoder().feed(chunks(rf2_telemetry([car(mLapStartET=tel_start)]), sc), 1.0)
    assert f is not None and f["lap"] == lap
