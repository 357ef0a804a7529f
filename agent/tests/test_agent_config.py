"""The agent's config file: location, mode 600, atomic replace."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from simcoach_agent import config
from simcoach_agent.config import Config, ConfigError


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(config.HOME_ENV, str(tmp_path / "agent-home"))
    return tmp_path / "agent-home"


def test_it_round_trips_the_pairing(home: Path) -> None:
    cfg = Config(server="https://coach.example/x", token="sc_rig_abc", rig_id=7, rig_name="Sim rig")
    assert config.save(cfg) == home / "config.json"
    assert config.load() == cfg
    assert config.load().paired


def test_it_treats_a_missing_file_as_unpaired() -> None:
    assert config.load() == Config() and not config.load().paired


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_it_writes_the_token_file_with_mode_600(home: Path) -> None:
    old = os.umask(0)  # even with a permissive umask
    try:
        path = config.save(Config(server="http://x", token="sc_rig_secret"))
        config.save(Config(server="http://x", token="sc_rig_other"))  # the replace keeps it private
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert [p.name for p in home.iterdir()] == ["config.json"]  # no temp file left behind


def test_it_reports_a_broken_file_clearly(home: Path) -> None:
    home.mkdir()
    (home / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        config.load()


def test_it_ignores_unknown_keys(home: Path) -> None:
    home.mkdir()
    (home / "config.json").write_text('{"server": "http://x", "token": "t", "future": 1}')
    assert config.load() == Config(server="http://x", token="t")


def test_it_forgets_the_pairing() -> None:
    config.save(Config(server="http://x", token="t"))
    assert config.clear() is True
    assert config.clear() is False
    assert not config.load().paired


def test_it_follows_xdg_without_the_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(config.HOME_ENV)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config.config_dir() == tmp_path / "xdg" / "simcoach"


def test_it_uses_appdata_on_windows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(config.HOME_ENV)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    assert config.config_dir() == tmp_path / "Roaming" / "SimCoach"
