// Focus corners on the live page: as the car leaves a focus corner, say whether this lap met
// its target (the braking point or the minimum speed) — the same tolerances as the server's
// review (apps/coaching/services_focus.py). An indicator only: frames reach viewers thinned
// to ≤ 30 Hz (a few metres apart at speed), so the stored review is the number that counts.
(function () {
  "use strict";
  const BRAKE_ON = 0.1, BRAKE_SEARCH_M = 150, BRAKE_TOL_M = 2, SPEED_TOL_KMH = 0.5;
  const list = document.getElementById("live-focus");
  if (!list) return;
  const items = [...list.querySelectorAll("li[data-end]")].map((li) => ({
    li: li,
    kind: li.dataset.kind,
    target: parseFloat(li.dataset.target),
    start: parseFloat(li.dataset.start),
    apex: parseFloat(li.dataset.apex),
    end: parseFloat(li.dataset.end),
    state: null,
  }));

  // Said in the viewer's units, as the server's words are (apps/coaching/lib/focus_words.py):
  // a braking point in feet for a viewer who reads mph, a speed in their speed unit.
  const M_PER_FT = 0.3048;
  function amount(kind, value) {
    const U = window.SimUnits;
    if (kind !== "brake") return U ? U.fmt(value, "km/h", 1) : value.toFixed(1) + " km/h";
    const feet = U && U.units.speed === "mph";
    return (feet ? value / M_PER_FT : value).toFixed(0) + (feet ? " ft" : " m");
  }

  function fresh(lap) { return { lap: lap, brakeAt: null, minSpeed: Infinity, seen: false, done: false }; }

  function verdict(item) {
    const s = item.state, out = item.li.querySelector("[data-w=focus-hit]");
    let value, hit;
    if (item.kind === "brake") {
      value = s.brakeAt;
      hit = value != null && value >= item.target - BRAKE_TOL_M;
    } else {
      value = isFinite(s.minSpeed) ? s.minSpeed : null;
      hit = value != null && value >= item.target - SPEED_TOL_KMH;
    }
    item.li.dataset.hit = value == null ? "none" : hit ? "hit" : "miss";
    out.textContent = value == null ? "· no braking seen" :
      (hit ? "✓ on target" : "✗ missed") + " (lap " + s.lap + ": " + amount(item.kind, value) + ")";
  }

  function frame(f) {
    if (f == null || f.lap_dist == null) return;
    const d = f.lap_dist;
    for (const item of items) {
      if (!item.state || item.state.lap !== f.lap) item.state = fresh(f.lap);
      const s = item.state;
      if (s.done) continue;
      const from = Math.max(0, item.start - BRAKE_SEARCH_M);
      if (s.brakeAt == null && d >= from && d <= item.apex && f.brake > BRAKE_ON) s.brakeAt = d;
      if (d >= item.start && d <= item.end) {
        s.seen = true;
        if (f.speed != null) s.minSpeed = Math.min(s.minSpeed, f.speed);
      } else if (d > item.end && s.seen) {
        s.done = true;
        verdict(item);
      }
    }
  }

  function session(s) {
    // On the rig's own live page the list holds every open focus: keep this track's.
    for (const li of list.querySelectorAll("li")) li.hidden = !!s.track && li.dataset.track !== s.track;
  }

  window.simcoachFocus = { frame: frame, session: session };
})();
