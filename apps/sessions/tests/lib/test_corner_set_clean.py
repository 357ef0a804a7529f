"""The admin's corner set check: every bad edit refused with where and why."""

from __future__ import annotations

import pytest

from apps.sessions.lib.corner_set import CornerSetError, corner_set_clean

GOOD = [
    {"name": "La Source", "start_m": 230, "apex_m": 396, "end_m": 450},
    {"name": " Eau Rouge ", "start_m": 960.0, "apex_m": 1027.0, "end_m": 1070.0, "extra": 1},
]


class TestCornerSetClean:
    def test_it_keeps_a_good_set_normalised(self) -> None:
        clean = corner_set_clean(GOOD, length_m=7004.0)
        assert clean[1] == {"name": "Eau Rouge", "start_m": 960.0, "apex_m": 1027.0, "end_m": 1070.0}
        assert corner_set_clean(None, length_m=None) == []

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ({"name": "T1"}, "must be a list"),
            (["T1"], "corner 1: must be an object"),
            ([{**GOOD[0], "name": ""}], "name must be a text"),
            ([{**GOOD[0], "name": "x" * 61}], "name must be a text"),
            ([{**GOOD[0], "apex_m": "396"}], "apex_m must be a number"),
            ([{**GOOD[0], "apex_m": float("nan")}], "apex_m must be a number"),
            ([{**GOOD[0], "end_m": True}], "end_m must be a number"),
            ([{**GOOD[0], "apex_m": 500}], "start_m ≤ apex_m ≤ end_m"),
            ([{**GOOD[0], "end_m": 9000}], "past the lap's 7004 m"),
            ([GOOD[0], {**GOOD[1], "name": "la source"}], "two corners are called"),
            ([GOOD[1], GOOD[0]], "lap order"),
        ],
    )
    def test_it_refuses_a_bad_set(self, raw: object, message: str) -> None:
        with pytest.raises(CornerSetError, match=message):
            corner_set_clean(raw, length_m=7004.0)
