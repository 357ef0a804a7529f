"""Where the agent keeps its settings, and the settings file itself.

One directory per user holds ``config.json`` (server URL, rig token, rig id/name) and the
frame spool. The token is a secret: the file is created with mode 600 and replaced
atomically, so a crash mid-write never leaves a half-written or world-readable token.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

HOME_ENV = "SIMCOACH_AGENT_HOME"  # overrides the directory (tests, portable installs)
CONFIG_NAME = "config.json"
SPOOL_NAME = "spool.sqlite3"


class ConfigError(Exception):
    """The config file exists but cannot be read or parsed."""


@dataclass
class Config:
    """What pairing leaves behind: enough to stream without asking the user again."""

    server: str = ""  # http(s) base URL of the site, possibly with a path prefix
    token: str = ""  # rig token, "sc_rig_..."
    rig_id: int | str | None = None
    rig_name: str = ""

    @property
    def paired(self) -> bool:
        return bool(self.server and self.token)


def config_dir() -> Path:
    """The per-user directory: %APPDATA%\\SimCoach, $XDG_CONFIG_HOME/simcoach or ~/.config/simcoach."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override)
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "SimCoach"
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "simcoach"


def config_path() -> Path:
    return config_dir() / CONFIG_NAME


def spool_path() -> Path:
    return config_dir() / SPOOL_NAME


def load() -> Config:
    """Read the config; a missing file is an unpaired agent, a broken one is a ConfigError."""
    path = config_path()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw)
    except ValueError:
        raise ConfigError(f"{path} is not valid JSON; fix it or run 'simcoach-agent pair' again") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return _from_dict(data)


def _from_dict(data: dict[str, Any]) -> Config:
    known = {f.name for f in fields(Config)}
    return Config(**{k: v for k, v in data.items() if k in known})


def save(cfg: Config) -> Path:
    """Write the config with mode 600, atomically (temp file in the same dir + os.replace)."""
    path = config_path()
    _ensure_dir(path.parent)
    body = json.dumps(asdict(cfg), indent=2).encode("utf-8")
    _atomic_write(path, body)
    return path


def clear() -> bool:
    """Forget the pairing; return whether there was one."""
    try:
        config_path().unlink()
    except FileNotFoundError:
        return False
    return True


def _ensure_dir(directory: Path) -> None:
    # 700: the spool holds the driver's telemetry and the directory holds the token
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def _atomic_write(path: Path, body: bytes) -> None:
    fd, tmp = _open_private_temp(path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _open_private_temp(directory: Path) -> tuple[int, str]:
    # O_EXCL + mode 0o600 at creation: the token is never readable by others, not even for
    # the instant between create and chmod. The random name keeps two writers apart.
    tmp = str(directory / f".config-{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.open(tmp, flags, 0o600), tmp
