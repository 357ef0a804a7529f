"""`make demo`: the whole system on embedded defaults with a demo car streaming into it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Rig
from apps.accounts.services import rig_create, rig_revoke
from apps.sessions.services import sessions_close_idle
from simcoach_site.lib.children import (
    StopRequested,
    ignore_stop_signals,
    spawn,
    stop_children,
    stop_signals,
)
from simcoach_site.lib.net import daphne_command, port_taken, wait_for_port

DEMO_USER = "demo"
ADMIN_USER = "demo-admin"


class Command(BaseCommand):
    help = "Run Daphne and a demo agent streaming a simulated GT3 at Spa into the demo account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: Any, host: str, port: int, seed: int, **options: Any) -> None:
        if port_taken(host, port):  # else the agent would stream into whatever holds the port
            raise CommandError(
                f"{host}:{port} is already in use (is an earlier demo still running?): "
                "stop it, or pass --port"
            )
        password, admin_password = secrets.token_urlsafe(9), secrets.token_urlsafe(9)
        token = self._demo_account(password)
        _admin_account(admin_password)
        url = f"http://{host}:{port}{settings.URL_PREFIX}/"
        procs: list[subprocess.Popen[bytes]] = []
        # Signals are caught before the first child starts, so no window leaves one behind.
        with stop_signals():
            try:
                procs.append(self._daphne(host, port))
                try:
                    wait_for_port(host, port, procs[0])
                except RuntimeError as exc:
                    raise CommandError(f"the server did not start: {exc}") from None
                procs.append(self._agent(url, token, seed))
                self.stdout.write(self.style.SUCCESS(_banner(url, password, admin_password)))
                self._watch(procs)
                self.stderr.write("a demo process stopped; shutting down")
            except StopRequested as stop:
                self.stdout.write(f"\nstopping ({stop})…")
            finally:
                ignore_stop_signals()
                stop_children(procs)

    def _watch(self, procs: list[subprocess.Popen[bytes]]) -> None:
        next_sweep = time.monotonic() + 60
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
            if time.monotonic() > next_sweep:  # no Celery beat here: close silent sessions
                sessions_close_idle(silence_s=settings.SESSION_SILENCE_TIMEOUT_S)
                next_sweep += 60

    def _demo_account(self, password: str) -> str:
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USER)
        user.set_password(password)
        user.save()
        for rig in Rig.objects.filter(owner=user, name="Demo rig", revoked_at__isnull=True):
            rig_revoke(rig=rig)
        _, token = rig_create(owner=user, name="Demo rig")
        return token

    def _daphne(self, host: str, port: int) -> subprocess.Popen[bytes]:
        cmd = daphne_command(sys.executable, host, port)
        return spawn(cmd, cwd=settings.BASE_DIR)

    def _agent(self, url: str, token: str, seed: int) -> subprocess.Popen[bytes]:
        home = Path(settings.VAR_DIR) / "demo-agent"
        env = {
            **os.environ,
            "SIMCOACH_AGENT_HOME": str(home),
            "PYTHONPATH": str(Path(settings.BASE_DIR) / "agent"),
        }
        cmd = [
            sys.executable,
            "-m",
            "simcoach_agent",
            "--quiet",
            "run",
            "--game",
            "demo",
            "--seed",
            str(seed),
            # The server is stopped at the same moment: a short drain keeps the agent's goodbye
            # well inside stop_children's grace (what is left is sent by the next demo).
            "--drain-timeout",
            "2",
        ]
        return spawn([*cmd, "--server", url, "--token", token], env=env)


def _admin_account(password: str) -> None:
    """A superuser for /admin/, with a fresh password each run like the demo driver's.

    Its own name, so the demo never resets the password of a real `admin` on a shared database.
    """
    user, _ = get_user_model().objects.get_or_create(username=ADMIN_USER)
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()


def _banner(url: str, password: str, admin_password: str) -> str:
    return (
        "\n  SimCoach demo is running\n"
        f"  open     {url}live/\n"
        f"  log in   {DEMO_USER} / {password}\n"
        f"  admin    {url}admin/  {ADMIN_USER} / {admin_password}\n"
        "  a simulated Mercedes-AMG GT3 is lapping Spa-Francorchamps; Ctrl-C stops everything\n"
    )
