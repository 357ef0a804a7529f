"""Speaking coaching messages through the OS's own text-to-speech, when there is one.

Windows: SAPI through PowerShell; macOS: ``say``; Linux: ``espeak-ng`` or ``spd-say``. The text
always goes through stdin or a single argv item, never through a shell. Messages are spoken one
at a time on a worker thread; when they arrive faster than they can be said, the extras are
dropped (stale advice is worse than none).
"""

from __future__ import annotations

import queue
import shutil
import subprocess
import sys
import threading
from typing import Final

QUEUE_DEPTH: Final = 2  # messages waiting to be spoken; more are dropped
SPEAK_TIMEOUT: Final = 30.0  # seconds; a hung speech engine must not hold the queue forever

_SAPI: Final = (
    # stdin arrives in the console's OEM code page unless told otherwise
    "[Console]::InputEncoding = [System.Text.Encoding]::UTF8; "
    "Add-Type -AssemblyName System.Speech; "
    "(New-Object System.Speech.Synthesis.SpeechSynthesizer).Speak([Console]::In.ReadToEnd())"
)


def tts_command() -> tuple[list[str], bool] | None:
    """(argv, text via stdin?) for this machine's speech engine, or None when there is none."""
    if sys.platform == "win32":
        ps = shutil.which("powershell") or shutil.which("pwsh")
        return ([ps, "-NoProfile", "-NonInteractive", "-Command", _SAPI], True) if ps else None
    if sys.platform == "darwin" and shutil.which("say"):
        return (["say", "-f", "-"], True)
    if shutil.which("espeak-ng"):
        return (["espeak-ng", "--stdin"], True)
    if shutil.which("spd-say"):
        return (["spd-say", "--wait"], False)
    return None


class Speaker:
    """Say texts in the background; silently does nothing when no engine is installed."""

    def __init__(self, command: tuple[list[str], bool] | None = None) -> None:
        self.command = command if command is not None else tts_command()
        self._queue: queue.Queue[str] = queue.Queue(QUEUE_DEPTH)
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        return self.command is not None

    def say(self, text: str) -> bool:
        """Queue ``text``; False if it was dropped (no engine, or too many waiting)."""
        if self.command is None:
            return False
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="simcoach-speech", daemon=True)
            self._thread.start()
        try:
            self._queue.put_nowait(text)
        except queue.Full:
            return False
        return True

    def _work(self) -> None:
        while True:
            self._speak(self._queue.get())

    def _speak(self, text: str) -> None:
        assert self.command is not None
        argv, via_stdin = self.command
        # spd-say reads options from argv: strip leading dashes so text is never an option
        args = argv if via_stdin else [*argv, text.lstrip("-")]
        try:
            subprocess.run(
                args,
                input=text.encode("utf-8") if via_stdin else None,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=SPEAK_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            pass  # speech is a nicety: never let it disturb streaming
