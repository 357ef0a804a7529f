"""A track's corner set as an admin edits it: checked before it is stored with the Track.

Pure. The set is a list of {name, start_m, apex_m, end_m} in lap order (distances in metres
from the line). Renaming is what an admin normally does; every lap analysed on the old names
is analysed again when next read (coaching compares the stored names).
"""

from __future__ import annotations

import math
from typing import Any, Final

KEYS: Final = ("name", "start_m", "apex_m", "end_m")
MAX_NAME: Final = 60


class CornerSetError(ValueError):
    pass


def _number(corner: dict[str, Any], key: str, where: str) -> float:
    value = corner.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CornerSetError(f"{where}: {key} must be a number of metres, not {value!r}")
    return float(value)


def _one(corner: Any, index: int, length_m: float | None) -> dict[str, Any]:
    where = f"corner {index + 1}"
    if not isinstance(corner, dict):
        raise CornerSetError(f"{where}: must be an object with {', '.join(KEYS)}")
    name = corner.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        raise CornerSetError(f"{where}: name must be a text of 1 to {MAX_NAME} characters")
    start, apex, end = (_number(corner, k, f"{where} ({name.strip()})") for k in KEYS[1:])
    if not 0 <= start <= apex <= end:
        raise CornerSetError(f"{where} ({name.strip()}): needs 0 ≤ start_m ≤ apex_m ≤ end_m")
    if length_m is not None and end > length_m + 1:
        raise CornerSetError(f"{where} ({name.strip()}): ends at {end:g} m, past the lap's {length_m:g} m")
    return {"name": name.strip(), "start_m": start, "apex_m": apex, "end_m": end}


def corner_set_clean(raw: Any, *, length_m: float | None) -> list[dict[str, Any]]:
    """The set checked and normalised; CornerSetError says what is wrong and where."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise CornerSetError("the corners must be a list of {name, start_m, apex_m, end_m}")
    corners = [_one(c, i, length_m) for i, c in enumerate(raw)]
    seen: set[str] = set()
    for c in corners:
        if c["name"].casefold() in seen:
            raise CornerSetError(f"two corners are called {c['name']!r}: every page names corners by name")
        seen.add(c["name"].casefold())
    if [c["apex_m"] for c in corners] != sorted(c["apex_m"] for c in corners):
        raise CornerSetError("the corners must be in lap order (apex_m increasing)")
    return corners
