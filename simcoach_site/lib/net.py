"""Waiting for a local server process to listen (the demo command and end-to-end tests)."""

from __future__ import annotations

import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_taken(host: str, port: int) -> bool:
    """Would a server fail to listen on host:port because something already does?"""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Daphne binds: TIME_WAIT is no conflict
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def wait_for_port(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Return once something listens on host:port; fail early if `proc` dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {host}:{port} after {timeout} s")


def daphne_command(python: str, host: str, port: int) -> list[str]:
    """Daphne serving the site (the demo, end-to-end tests and benchmarks start it alike)."""
    return [python, "-m", "daphne", "-v", "0", "-b", host, "-p", str(port), "simcoach_site.asgi:application"]
