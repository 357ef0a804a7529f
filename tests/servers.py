"""Real server processes for end-to-end tests: Daphne on the test database, the agent CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from simcoach_site.lib.net import daphne_command, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def db_url_for_subprocess() -> str:
    """The URL of the database pytest-django created, for a server in another process."""
    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    user, host, port = cfg["USER"] or "postgres", cfg["HOST"] or "127.0.0.1", cfg["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{cfg['NAME']}"


def server_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": db_url_for_subprocess(), "PYTHONPATH": f"{ROOT}:{ROOT / 'agent'}"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return {**env, **extra}


@contextmanager
def run_daphne(port: int | None = None, **env: str) -> Iterator[str]:
    port = port or free_port()
    cmd = daphne_command(sys.executable, "127.0.0.1", port)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=server_env(**env))
    try:
        wait_for_port("127.0.0.1", port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


class RedisServer:
    """A private redis-server that can be SIGKILLed and started again on the same port and
    append-only file, like the docker-compose service restarting."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.dir = data_dir
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        self.dir.mkdir(parents=True, exist_ok=True)
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        cmd += ["--save", "", "--appendonly", "yes", "--daemonize", "no", "--loglevel", "warning"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        wait_for_port("127.0.0.1", self.port, self.proc)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)  # no shutdown save, no goodbye to clients
            self.proc.wait()
        self.proc = None


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def agent(args: list[str], home: Path, **popen: object) -> subprocess.Popen[bytes]:
    """Start the real agent CLI (`python -m simcoach_agent ...`) with its own config dir."""
    env = {**os.environ, "SIMCOACH_AGENT_HOME": str(home), "PYTHONPATH": str(ROOT / "agent")}
    return subprocess.Popen([sys.executable, "-m", "simcoach_agent", *args], env=env, cwd=ROOT, **popen)  # type: ignore[call-overload]


def set_server_password(user: object, password: str) -> None:
    """Hash with a hasher the server process knows (tests use MD5, a server does not)."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(password, hasher.salt(), iterations=1000)  # type: ignore[attr-defined]
    user.save(update_fields=["password"])  # type: ignore[attr-defined]
