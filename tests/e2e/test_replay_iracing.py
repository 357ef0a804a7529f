"""A real iRacing drive (the Bristol `.ibt`, whose rows have the live rows' layout) replayed
through the live decoder, the agent's uplink and a real Daphne: the laps get the game's times.

Ground truth (shared/fixtures/SOURCES.md): laps 171 and 172 took 15.226 s and 15.067 s.
The replay runs at 8× real time; the game's times do not depend on how fast it runs, and
the agent's reader feeds every recorded row through the decoder, so nothing here does either.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.accounts.services import rig_create
from apps.sessions.models import Lap, Session
from simcoach_agent.sources.iracing import polls_from_ibt
from simcoach_agent.sources.recording import write_recording
from tests.servers import agent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fixtures]
BRISTOL = "iracing/trucks_silverado2019_bristol_2025-11-06_17-39-03.ibt"


def test_it_streams_a_real_iracing_drive_into_game_timed_laps(
    daphne_url: str, driver, tmp_path: Path, fixtures_dir: Path
) -> None:
    recording = tmp_path / "bristol.rec.gz"
    write_recording(recording, "iracing", polls_from_ibt(fixtures_dir / BRISTOL), decoder="iracing")
    _, token = rig_create(owner=driver, name="Rig")
    cmd = ["--quiet", "replay", str(recording), "--speed", "8", "--server", daphne_url, "--token", token]
    assert agent(cmd, tmp_path).wait(180) == 0
    session = Session.objects.select_related("track", "car").get(owner=driver)
    assert (session.game, session.track.name, session.car.name) == (
        "iracing",
        "Bristol Motor Speedway - Dual Pit Road",
        "Chevrolet Silverado",
    )
    laps = {lap.number: lap for lap in Lap.objects.filter(session=session)}
    for number, truth_ms in ((171, 15_226), (172, 15_067)):
        assert laps[number].stats["timing"] == "game" and laps[number].valid  # no off-track, no incident
        assert abs(laps[number].time_ms - truth_ms) <= 50, (number, laps[number].time_ms)
    # lap 170 left the pit road and the game posted -1 for it: an untimed out-lap, never valid
    assert (laps[170].stats["timing"], laps[170].is_out_lap, laps[170].valid) == ("untimed", True, False)
    assert 0 not in laps  # the blank row before the car is placed is not a lap
