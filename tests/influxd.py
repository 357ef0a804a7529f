"""Start a throwaway InfluxDB 1.x (Debian's influxd) on free loopback ports in a temp dir.

Used by the test suite (session fixture) and by .ci/run for the full-stack pass:
`python -m tests.influxd` runs one in the foreground and prints its URL.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from simcoach_site.lib.net import free_port


@dataclass
class Influxd:
    url: str
    proc: subprocess.Popen[bytes]
    workdir: Path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def pause(self) -> None:
        """Stop the server but keep its data, for outage tests; `resume` brings it back."""
        self.proc.terminate()
        self.proc.wait(10)

    def resume(self) -> None:
        self.proc = _spawn(self.workdir)
        _wait_ready(self.url, self.proc)


def influxd_available() -> bool:
    return shutil.which("influxd") is not None


def start_influxd(port: int | None = None) -> Influxd:
    workdir = Path(tempfile.mkdtemp(prefix="simcoach-influx-"))
    http_port, rpc_port = port or free_port(), free_port()
    # Two servers on one machine clash on the RPC port 8088 unless it is set explicitly.
    (workdir / "influxdb.conf").write_text(
        f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{workdir}/meta"
[data]
  dir = "{workdir}/data"
  wal-dir = "{workdir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
[monitor]
  store-enabled = false
"""
    )
    url = f"http://127.0.0.1:{http_port}"
    proc = _spawn(workdir)
    _wait_ready(url, proc)
    return Influxd(url=url, proc=proc, workdir=workdir)


def _spawn(workdir: Path) -> subprocess.Popen[bytes]:
    log = open(workdir / "influxd.log", "ab")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(["influxd", "-config", str(workdir / "influxdb.conf")], stdout=log, stderr=log)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"influxd exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=1):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"influxd did not answer on {url} within {timeout} s")


if __name__ == "__main__":
    # .ci/run stops this wrapper with SIGTERM: treat it like Ctrl-C so influxd goes too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    server = start_influxd(int(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(server.url, flush=True)
    try:
        server.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
