"""Read-only access to the named shared-memory pages that Windows games publish.

``mmap.mmap(-1, size, tagname=NAME)`` *creates* the mapping when it does not exist yet, which
would leave a zero-filled page behind and make the game look running. So we first ask Windows
whether the mapping exists (``OpenFileMappingW``) and only then map it.
"""

from __future__ import annotations

import mmap
import sys
from typing import Any

IS_WINDOWS = sys.platform == "win32"
FILE_MAP_READ = 0x0004


class SharedMemoryUnavailable(RuntimeError):
    """Shared memory cannot be read here (not Windows); the text says so plainly."""


def require_windows(game: str) -> None:
    if not IS_WINDOWS:
        raise SharedMemoryUnavailable(
            f"{game}: reading the game's shared memory needs Windows (this is {sys.platform}); "
            "run the agent on the rig PC, or use 'replay' with a recording"
        )


def _kernel32() -> Any:
    import ctypes

    k32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    k32.OpenFileMappingW.restype = ctypes.c_void_p
    k32.OpenFileMappingW.argtypes = [ctypes.c_uint32, ctypes.c_int, ctypes.c_wchar_p]
    k32.CloseHandle.argtypes = [ctypes.c_void_p]
    return k32


def mapping_exists(name: str) -> bool:
    """True if some process has created the named mapping (the game is running). False off Windows."""
    if not IS_WINDOWS:
        return False
    k32 = _kernel32()
    handle = k32.OpenFileMappingW(FILE_MAP_READ, 0, name)
    if not handle:
        return False
    k32.CloseHandle(handle)
    return True


class ShmPage:
    """One named page, mapped lazily once the game has created it."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self._mm: mmap.mmap | None = None

    def read(self) -> bytes | None:
        """A copy of the whole page, or None while the game has not created it."""
        if self._mm is None and not self._open():
            return None
        assert self._mm is not None
        return self._mm[: self.size]

    def head(self, n: int) -> bytes | None:
        """A fresh copy of the page's first ``n`` bytes (a version block), or None."""
        if self._mm is None and not self._open():
            return None
        assert self._mm is not None
        return self._mm[:n]

    def _open(self) -> bool:
        if not mapping_exists(self.name):
            return False
        try:
            self._mm = mmap.mmap(-1, self.size, tagname=self.name, access=mmap.ACCESS_READ)  # type: ignore[call-arg]
        except OSError:
            return False  # the game closed it between the check and the map
        return True

    def close(self) -> None:
        if self._mm is not None:
            self._mm.close()
            self._mm = None
