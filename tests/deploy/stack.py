"""Reading the deployment files the way Docker Compose does, and running Django as a process.

Compose cannot run here (no Docker engine), so the tests check what can be checked without it:
the files parse, the variables line up with settings.py, and the environment compose would give
the web service really makes a production Django that loads, passes `check --deploy` and serves.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SETTINGS = ROOT / "simcoach_site" / "settings.py"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; `$$` is a literal $.
_INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def compose_variables() -> set[str]:
    """Every variable docker-compose.yml takes from .env / the shell."""
    return {m.group(1) for m in _INTERPOLATION.finditer(COMPOSE.read_text()) if m.group(1)}


def env_example() -> dict[str, str]:
    values = {}
    for raw in ENV_EXAMPLE.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(value: str, variables: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group(1), m.group(2) or "", m.group(3) or ""
        current = variables.get(name)
        if op.endswith("?") and not current:
            raise KeyError(f"compose would refuse to start: {name}: {arg}")
        if op == ":-" and not current:
            return arg
        if op == "-" and current is None:
            return arg
        return current or ""

    return _INTERPOLATION.sub(one, value)


def filled_env_example() -> dict[str, str]:
    """.env.example with every REQUIRED blank filled as an operator would (fresh secrets)."""
    values = env_example()
    for name in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "INFLUX_TOKEN", "INFLUX_ADMIN_PASSWORD"):
        values[name] = secrets.token_urlsafe(50)
    values["GRAFANA_ADMIN_PASSWORD"] = secrets.token_urlsafe(20)
    return values


def service_environment(service: str, variables: dict[str, str]) -> dict[str, str]:
    env = compose()["services"][service].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: interpolate(str(v), variables) for k, v in env.items()}


def settings_env_names() -> set[str]:
    """The environment variables simcoach_site/settings.py reads, found by reading its source."""
    src = SETTINGS.read_text()
    names = set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", src))
    names |= set(re.findall(r"os\.environ(?:\.get\(|\[)\s*\"([A-Z][A-Z0-9_]*)\"", src))
    names |= set(re.findall(r"\"([A-Z][A-Z0-9_]*)\" (?:not )?in os\.environ", src))
    # FOO_FILE twins of the secrets (docker secrets), read in a loop over their names.
    loop = re.search(r"for _name in \(([^)]*)\):", src)
    if loop:
        for name in re.findall(r"\"([A-Z][A-Z0-9_]*)\"", loop.group(1)):
            names |= {name, f"{name}_FILE"}
    return names


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A process environment with none of the developer's or CI's SimCoach settings in it."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(DJANGO_SETTINGS_MODULE="simcoach_site.settings", SIMCOACH_VAR_DIR=str(tmp_path / "var"))
    env.update(extra)
    return env


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#%^&*(-_=+)"
    production = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(50)),
        "DJANGO_ALLOWED_HOSTS": "sim.example.com",
        "DJANGO_HSTS_SECONDS": "31536000",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/1",
    }
    return clean_env(tmp_path, **{**production, **extra})


def run_python(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_python(env, "manage.py", *args)
