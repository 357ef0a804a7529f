// SimCoach display units: the JS twin of simcoach_site/lib/units.py (same factors; a test
// runs both on the same values). The page says the viewer's units in a JSON script tag
// (id "units", from base.html); values arrive in the channel model's units (km/h, kPa, °C).
(function () {
  "use strict";
  const KMH_PER_MPH = 1.609344, KPA_PER_PSI = 6.894757, KPA_PER_BAR = 100;
  const tag = document.getElementById("units");
  const chosen = Object.assign({ speed: "km/h", pressure: "bar", temperature: "°C" }, tag ? JSON.parse(tag.textContent) : {});
  // stored unit -> [the preference it follows, {shown unit: [scale, offset]}]
  const TABLE = {
    "km/h": ["speed", { "km/h": [1, 0], mph: [1 / KMH_PER_MPH, 0] }],
    kPa: ["pressure", { kPa: [1, 0], psi: [1 / KPA_PER_PSI, 0], bar: [1 / KPA_PER_BAR, 0] }],
    "°C": ["temperature", { "°C": [1, 0], "°F": [9 / 5, 32] }],
  };
  const DIGITS = { "km/h": 0, mph: 0, kPa: 0, psi: 1, bar: 2, "°C": 0, "°F": 0 };

  function unit(stored) { const row = TABLE[stored]; return row ? chosen[row[0]] : stored; }
  function convert(v, stored) {
    const row = TABLE[stored];
    if (v == null || !row) return v;
    const [scale, offset] = row[1][chosen[row[0]]];
    return v * scale + offset;
  }
  function fmt(v, stored, digits) {
    if (v == null || Number.isNaN(v)) return "–";
    const shown = unit(stored);
    let text = convert(v, stored).toFixed(digits == null ? DIGITS[shown] ?? 1 : digits);
    if (/^-0(\.0*)?$/.test(text)) text = text.slice(1); // "-0" reads like a sign error
    return text + (shown ? " " + shown : "");
  }
  window.SimUnits = {
    units: chosen,
    unit,
    convert,
    fmt,
    // a whole chart column (nulls stay null)
    column: (values, stored) => (values == null ? values : values.map((v) => convert(v, stored))),
  };
})();
