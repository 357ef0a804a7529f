"""static/js/units.js against simcoach_site/lib/units.py: the pages' charts and the server's
tables must show one stored value as the same number. Runs the real file in Node."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from simcoach_site.lib.units import PRESSURES, SPEEDS, TEMPERATURES, Units, convert, display_unit, fmt

SCRIPT = Path(__file__).resolve().parents[1] / "static/js/units.js"
VALUES = {
    "km/h": [0.0, 88.5, 312.4, -0.2],  # 88.5: a tie, where Python and JS round differently by default
    "kPa": [0.0, 172.369, 205.0, 1.005],
    "°C": [-40.0, 21.5, 650.0, -0.4],
    "m": [12.0],
}
ALL = [Units(speed=s, pressure=p, temperature=t) for s in SPEEDS for p in PRESSURES for t in TEMPERATURES]

RUNNER = """
const units = JSON.parse(process.argv[1]), values = JSON.parse(process.argv[2]);
globalThis.window = {};
globalThis.document = { getElementById: (id) => (id === "units" ? { textContent: JSON.stringify(units) } : null) };
require(process.argv[3]);
const U = window.SimUnits, out = {};
for (const stored of Object.keys(values)) {
  out[stored] = { unit: U.unit(stored), values: values[stored].map((v) => U.convert(v, stored)),
                  text: values[stored].map((v) => U.fmt(v, stored)), column: U.column([values[stored][0], null], stored) };
}
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the page script")
@pytest.mark.parametrize("units", ALL, ids=lambda u: "-".join(u.as_dict().values()))
def test_the_page_script_converts_like_the_server(units: Units) -> None:
    args = [json.dumps(units.as_dict()), json.dumps(VALUES), str(SCRIPT)]
    result = subprocess.run(
        ["node", "-e", RUNNER, *args], capture_output=True, text=True, check=True, timeout=30
    )
    js = json.loads(result.stdout)
    for stored, values in VALUES.items():
        assert js[stored]["unit"] == display_unit(stored, units)
        assert js[stored]["values"] == pytest.approx([convert(v, stored, units) for v in values], rel=1e-12)
        assert js[stored]["column"][1] is None
        if stored != "m":  # the server names no digits for units nobody chooses
            assert js[stored]["text"] == [fmt(v, stored, units) for v in values]
