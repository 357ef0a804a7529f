import pytest
from gamebytes import lmu_page
from test_rf2 import INFO, car, scored

from simcoach_agent.sources.layout import LayoutError
from simcoach_agent.sources.lmu import LmuDecoder, split_page


def feed(dec: LmuDecoder, page: bytes) -> dict[str, float] | None:
    return dec.feed(split_page(page), 1.0)


def test_it_decodes_the_player_vehicle() -> None:
    dec = LmuDecoder()
    page = lmu_page(
        INFO,
        [{"mID": 7, "mControl": 1}, scored()],
        [car(mID=7, mGear=2), car(mVehicleModel="Oreca 07", mABSActive=1)],
        player_idx=1,
    )
    f = feed(dec, page)
    assert f is not None
    assert f["gear"] == 4 and f["lap"] == 6 and f["abs_active"] == 1 and f["tc_active"] == 0
    assert f["tyre_temp_rr"] == pytest.approx(335.0 - 273.15)
    info = dec.info()
    assert info is not None and info.game == "lmu" and info.car == "Oreca 07"
    assert info.extra["entry"] == "Oreca 07 #22"


def test_it_marks_an_invalidated_lap() -> None:
    f = feed(LmuDecoder(), lmu_page(INFO, [scored()], [car(mLapInvalidated=1)]))
    assert f is not None and f["lap_valid"] == 0
    assert (f["air_temp"], f["track_temp"]) == (18.5, 26.0)  # ScoringInfo inside LMU's page


def test_it_skips_replays_and_unchanged_clock() -> None:
    assert feed(LmuDecoder(), lmu_page(INFO, [scored(mControl=3)], [car()])) is None
    dec = LmuDecoder()
    assert feed(dec, lmu_page(INFO, [scored()], [car()])) is not None
    assert feed(dec, lmu_page(INFO, [scored()], [car()])) is None
    assert feed(dec, lmu_page(INFO, [scored()], [car(mElapsedTime=100.2)])) is not None


def test_it_returns_none_without_a_player_vehicle_or_session() -> None:
    assert feed(LmuDecoder(), lmu_page(INFO, [scored()], [car()], has_vehicle=False)) is None
    assert feed(LmuDecoder(), bytes(324_820)) is None


def test_it_refuses_a_short_page() -> None:
    with pytest.raises(LayoutError, match="expected 324820"):
        split_page(bytes(1000))
