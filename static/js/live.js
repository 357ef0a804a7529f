// SimCoach live dashboard: one WebSocket, latest-wins rendering on animation frames.
(function () {
  "use strict";
  const root = document.getElementById("live");
  if (!root) return;
  const prefix = document.body.dataset.prefix || "";
  const $ = (id) => document.getElementById(id);
  const U = window.SimUnits; // static/js/units.js: the viewer's speed, pressure and temperature units
  const WHEELS = ["fl", "fr", "rl", "rr"];
  const BUCKET_M = 10; // track map and delta reference resolution, metres

  let session = null, latest = null, drawn = true, ws = null, retry = 0, closedReason = "";
  let best = null, laps = [], bestSectors = [];
  let outline = [], curProfile = [], refProfile = null, lastLapSeen = null;
  const gTrail = [];
  let mapView = null; // the last drawing's projection: a click on the map finds its lap distance
  const cues = window.simcoachCues; // static/js/cues.js: cues pinned to a place on track

  function fmtLap(ms) {
    if (ms == null || ms <= 0) return "–";
    const m = Math.floor(ms / 60000), s = (ms % 60000) / 1000;
    return m + ":" + s.toFixed(3).padStart(6, "0");
  }
  const fmtS = (s) => (s == null || s < 0 ? "–" : fmtLap(Math.round(s * 1000)));

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(scheme + "://" + location.host + prefix + "/" + root.dataset.wsPath);
    ws.onopen = () => { retry = 0; setConn(true); };
    ws.onclose = (ev) => {
      setConn(false, ev.reason || closedReason);
      // 4410: the share link was revoked or expired; 4400: we sent something not allowed.
      if ([4400, 4401, 4403, 4404, 4410].includes(ev.code)) return closed(ev.reason || closedReason); // not coming back
      const delay = Math.min(10000, 500 * 2 ** retry++) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    };
    ws.onmessage = (ev) => handle(JSON.parse(ev.data));
  }

  function closed(reason) {
    root.classList.add("closed");
    const el = $("share-closed");
    if (el) { el.hidden = false; el.textContent = "Disconnected: " + (reason || "this view is closed"); }
    const form = $("note-form");
    if (form) [...form.elements].forEach((e) => { e.disabled = true; });
  }

  function sendNote(ev) {
    ev.preventDefault();
    const input = $("note-text"), text = input.value.trim();
    if (!text || !ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ type: "note", text: text }));
    input.value = "";
    $("note-status").textContent = "sent";
  }

  function setConn(on, reason) {
    const el = $("conn");
    el.className = "pill " + (on ? "conn-on" : "conn-off");
    el.textContent = on ? "live" : (reason || "reconnecting…");
  }

  function handle(msg) {
    switch (msg.type) {
      case "session": return onSession(msg);
      case "frame": latest = msg.frame; drawn = false; if (window.simcoachFocus) window.simcoachFocus.frame(msg.frame); return;
      case "lap": return onLap(msg.lap);
      case "coaching": return onCoaching(msg);
      case "note": return addMessage("note", msg.author + ": " + msg.text);
      case "ended": return onEnded(msg.session_id);
      case "rigs": return onRigs(msg);
      case "waiting": $("title").textContent = root.dataset.share ? "Waiting for the driver…" : "Waiting for your rig…"; return;
      case "closed": closedReason = msg.reason; return; // the server says why before it closes
      case "cue": case "cue_refused": if (cues) cues.handle(msg); return;
      case "note_refused": if ($("note-status")) $("note-status").textContent = "not sent: " + msg.reason; return;
    }
  }

  function onEnded(id) {
    if (!session || session.session_id !== id || root.classList.contains("ended")) return;
    root.classList.add("ended");
    $("title").textContent += " (ended)";
    $("speed").textContent = "0"; // the last frame is not the car now: no frozen speed
  }

  // The picker's rigs, rendered by the server, get their states (and the followed one) here.
  function onRigs(msg) {
    const picker = $("rig-picker");
    if (!picker) return;
    for (const rig of msg.rigs) {
      const link = picker.querySelector('[data-rig="' + rig.id + '"]');
      if (!link) continue; // paired after the page loaded: it shows after a reload
      const pill = link.querySelector("[data-rig-state]");
      pill.className = "pill rig-state " + rig.state;
      pill.textContent = rig.state;
      link.classList.toggle("following", rig.id === msg.following);
    }
  }

  function onSession(s) {
    root.classList.remove("ended");
    root.dataset.session = s.session_id; // which session the page shows (the picker may change it)
    if (window.simcoachFocus) window.simcoachFocus.session(s);
    if (cues) cues.session(s);
    session = s; laps = []; bestSectors = []; refProfile = null; curProfile = [];
    // The server sends the last full lap's line; the car's own positions then paint over it.
    outline = (s.outline || []).slice();
    $("title").textContent = s.track + " · " + s.car + " · " + s.kind;
    $("laps").innerHTML = "";
    (s.laps || []).forEach(onLap);
    coachCounts(s.coach_counts);
  }

  // What the cue discipline did (apps/coaching/lib/discipline.py): the driver heard only the
  // spoken messages; the others are listed, marked, so nothing is lost from sight.
  const NOT_SPOKEN = { repeat: "not spoken: said this lap", budget: "not spoken: over the lap's budget", late: "not spoken: late" };

  function onCoaching(msg) {
    const m = msg.message, status = m.status || "spoken"; // an older server: everything was said
    const li = addMessage(m.severity, m.text);
    if (NOT_SPOKEN[status]) {
      li.classList.add("held", "held-" + status);
      const tag = document.createElement("span");
      tag.className = "held-tag";
      tag.textContent = NOT_SPOKEN[status];
      li.append(" ", tag);
    }
    if (msg.counts) coachCounts(msg.counts);
  }

  function coachCounts(c) {
    const n = (k) => (c && Number.isFinite(c[k]) ? c[k] : 0);
    $("coach-counts").textContent = "spoken " + n("spoken") + " · held back " + (n("repeat") + n("budget")) +
      " (repeat " + n("repeat") + ", budget " + n("budget") + ") · late " + n("late");
  }

  function onLap(lap) {
    laps.push(lap);
    const clean = lap.green; // the server's one rule (apps/sessions/lib/stats.py)
    const isBest = clean && (best == null || lap.time_ms < best);
    if (isBest) best = lap.time_ms;
    (lap.sector_ms || []).forEach((v, i) => {
      if (clean && v > 0 && (bestSectors[i] == null || v < bestSectors[i])) bestSectors[i] = v;
    });
    const tr = document.createElement("tr");
    tr.className = (isBest ? "best " : "") + (lap.valid ? "" : "invalid");
    const secs = [0, 1, 2].map((i) => "<td>" + (lap.sector_ms && lap.sector_ms[i] ? (lap.sector_ms[i] / 1000).toFixed(3) : "–") + "</td>");
    tr.innerHTML = "<td>" + lap.number + (lap.out_lap ? " out" : lap.in_lap ? " in" : "") + "</td><td>" + fmtLap(lap.time_ms) + "</td>" + secs.join("");
    $("laps").prepend(tr);
    $("last").textContent = fmtLap(lap.time_ms);
    $("best").textContent = fmtLap(best);
    if (isBest && curProfile.length > 10) refProfile = curProfile.slice();
  }

  function addMessage(severity, text) {
    const ul = $("coaching");
    const first = ul.querySelector(".muted");
    if (first) first.remove();
    const li = document.createElement("li");
    li.className = severity;
    li.textContent = new Date().toLocaleTimeString() + "  " + text;
    ul.prepend(li);
    while (ul.children.length > 40) ul.lastChild.remove();
    return li;
  }

  function render() {
    requestAnimationFrame(render);
    if (drawn || !latest) return;
    drawn = true;
    const f = latest;
    trackLap(f);
    $("speed").textContent = Math.round(U.convert(f.speed, "km/h"));
    $("rpm").textContent = f.rpm != null ? Math.round(f.rpm) : "–";
    $("gear").textContent = f.gear == null ? "–" : f.gear < 0 ? "R" : f.gear === 0 ? "N" : f.gear;
    bar("throttle", f.throttle); bar("brake", f.brake); bar("clutch", f.clutch);
    $("steering").style.left = (50 + 50 * (f.steering || 0)) + "%";
    shiftLights(f.rpm, f.max_rpm);
    $("lapno").textContent = f.lap;
    $("cur").textContent = fmtS(f.lap_time);
    if (f.last_lap_time > 0) $("last").textContent = fmtS(f.last_lap_time);
    if (f.best_lap_time > 0 && best == null) $("best").textContent = fmtS(f.best_lap_time);
    const len = (session && session.track_length_m) || 0;
    if (len) $("posmark").style.left = Math.max(0, Math.min(100, (100 * f.lap_dist) / len)) + "%";
    delta(f);
    sectors(f);
    tyres(f);
    car(f);
    gforce(f);
    drawMap(f);
    $("flag").className = "flag f" + (f.flag || 0);
  }

  function bar(id, v) { $(id).style.height = (v == null ? 0 : Math.round(v * 100)) + "%"; }

  function shiftLights(rpm, max) {
    const el = $("shift");
    if (!rpm || !max) return;
    const r = rpm / max;
    el.classList.toggle("flash", r > 0.975);
    [...el.children].forEach((led, i) => {
      const on = r > 0.82 + i * 0.015;
      led.className = on ? "on " + (i < 4 ? "g" : i < 7 ? "y" : "r") : "";
    });
  }

  function trackLap(f) {
    if (lastLapSeen !== null && f.lap !== lastLapSeen) curProfile = [];
    lastLapSeen = f.lap;
    const b = Math.floor(f.lap_dist / BUCKET_M);
    if (b >= 0) curProfile[b] = f.lap_time;
    if (f.pos_x != null && b >= 0) outline[b] = [f.pos_x, f.pos_z, f.speed];
  }

  function delta(f) {
    const el = $("delta");
    const b = Math.floor(f.lap_dist / BUCKET_M);
    // The server's live coach knows the session's best lap even across reconnects; the
    // profile recorded in this page is the fallback.
    let d = f.delta;
    if (d == null && refProfile && refProfile[b] != null) d = f.lap_time - refProfile[b];
    if (d == null) { el.textContent = "–"; el.className = "delta"; return; }
    el.textContent = (d >= 0 ? "+" : "−") + Math.abs(d).toFixed(2);
    el.className = "delta " + (d <= 0 ? "gain" : "loss");
  }

  function sectors(f) {
    const spans = $("sectors").children;
    const last = laps[laps.length - 1];
    for (let i = 0; i < spans.length; i++) {
      const v = last && last.sector_ms ? last.sector_ms[i] : null;
      spans[i].textContent = "S" + (i + 1) + " " + (v ? (v / 1000).toFixed(3) : "–");
      spans[i].className = v == null ? "" : v <= bestSectors[i] ? "pb" : v < bestSectors[i] * 1.01 ? "ok" : "slow";
      if (i === f.sector) spans[i].style.outline = "1px solid var(--accent2)"; else spans[i].style.outline = "";
    }
  }

  function tempClass(t, lo, hi, crit) { return t == null ? "" : t < lo ? "cold" : t <= hi ? "ok" : t <= crit ? "hot" : "crit"; }

  function tyres(f) {
    for (const w of WHEELS) {
      const el = root.querySelector('[data-wheel="' + w + '"]');
      const t = f["tyre_temp_" + w], p = f["tyre_press_" + w], wear = f["tyre_wear_" + w], bt = f["brake_temp_" + w];
      const cls = tempClass(t, 70, 100, 110);
      el.className = "wheel " + cls;
      const io = ["tyre_temp_in_", "tyre_temp_mid_", "tyre_temp_out_"].map((k) => {
        const v = f[k + w];
        return '<i title="' + (v == null ? "" : U.fmt(v, "°C")) + '"></i>';
      }).join("");
      el.innerHTML = "<span class=muted>" + w.toUpperCase() + "</span><b class='t-" + (cls === "ok" ? "ok" : cls) + "'>" + (t == null ? "–" : U.convert(t, "°C").toFixed(0) + "°") + "</b>" +
        '<div class="io">' + io + "</div>" +
        (p == null ? "" : "<span class=press>" + U.fmt(p, "kPa") + "</span>") +
        (wear == null ? "" : " · " + wear.toFixed(1) + "% worn") +
        "<br>brake <span class=brake-temp>" + (bt == null ? "–" : U.convert(bt, "°C").toFixed(0) + "°") + "</span>";
      // Colours through the style property, not style="" in the markup: the CSP blocks those.
      const cells = el.querySelectorAll(".io i");
      ["tyre_temp_in_", "tyre_temp_mid_", "tyre_temp_out_"].forEach((k, i) => { cells[i].style.background = heat(f[k + w]); });
      el.querySelector(".brake-temp").style.color = heat(bt == null ? null : bt / 7);
    }
  }

  function heat(v) {
    if (v == null) return "#333";
    const x = Math.max(0, Math.min(1, (v - 50) / 70));
    const hue = 220 - 220 * x;
    return "hsl(" + hue + ",85%,52%)";
  }

  function car(f) {
    $("fuel").textContent = f.fuel == null ? "–" : f.fuel.toFixed(1) + " l";
    const used = laps.filter((l) => l.fuel_used_l > 0 && l.green).slice(-5).map((l) => l.fuel_used_l);
    const perLap = used.length ? used.reduce((a, b) => a + b, 0) / used.length : null;
    $("fuel-laps").textContent = perLap && f.fuel != null ? (f.fuel / perLap).toFixed(1) + " (" + perLap.toFixed(2) + " l/lap)" : "–";
    $("water").textContent = U.fmt(f.water_temp, "°C");
    $("oil").textContent = U.fmt(f.oil_temp, "°C");
    $("track-temp").textContent = U.fmt(f.track_temp, "°C");
    $("air-temp").textContent = U.fmt(f.air_temp, "°C");
  }

  function gforce(f) {
    const c = $("gcircle"), ctx = c.getContext("2d"), r = c.width / 2;
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.strokeStyle = "#2a323d";
    [1, 2, 3].forEach((g) => { ctx.beginPath(); ctx.arc(r, r, (g / 3) * (r - 4), 0, 7); ctx.stroke(); });
    if (f.g_lat == null) return;
    gTrail.push([f.g_lat, f.g_lon]); if (gTrail.length > 40) gTrail.shift();
    gTrail.forEach(([x, y], i) => {
      ctx.fillStyle = "rgba(255,138,0," + (i / gTrail.length) * 0.6 + ")";
      ctx.beginPath(); ctx.arc(r + (x / 3) * (r - 4), r - (y / 3) * (r - 4), 2, 0, 7); ctx.fill();
    });
    ctx.fillStyle = "#ff8a00";
    ctx.beginPath(); ctx.arc(r + (f.g_lat / 3) * (r - 4), r - (f.g_lon / 3) * (r - 4), 6, 0, 7); ctx.fill();
  }

  function drawMap(f) {
    const c = $("map"), ctx = c.getContext("2d");
    const pts = outline.filter(Boolean);
    ctx.clearRect(0, 0, c.width, c.height);
    if (pts.length < 3) return;
    let minX = Infinity, maxX = -Infinity, minZ = Infinity, maxZ = -Infinity;
    for (const [x, z] of pts) { minX = Math.min(minX, x); maxX = Math.max(maxX, x); minZ = Math.min(minZ, z); maxZ = Math.max(maxZ, z); }
    const pad = 14, s = Math.min((c.width - 2 * pad) / (maxX - minX || 1), (c.height - 2 * pad) / (maxZ - minZ || 1));
    const px = (x) => pad + (x - minX) * s, pz = (z) => c.height - pad - (z - minZ) * s;
    ctx.lineWidth = 4; ctx.lineCap = "round";
    for (let i = 1; i < outline.length; i++) {
      const a = outline[i - 1], b = outline[i];
      if (!a || !b) continue;
      ctx.strokeStyle = "hsl(" + Math.max(0, Math.min(120, (b[2] - 60) * 0.6)) + ",85%,50%)";
      ctx.beginPath(); ctx.moveTo(px(a[0]), pz(a[1])); ctx.lineTo(px(b[0]), pz(b[1])); ctx.stroke();
    }
    mapView = { px: px, pz: pz };
    if (cues) {
      ctx.fillStyle = "#b388ff";
      for (const at of cues.points()) {
        const p = outline[Math.floor(at / BUCKET_M)];
        if (p) { ctx.beginPath(); ctx.arc(px(p[0]), pz(p[1]), 5, 0, 7); ctx.fill(); }
      }
    }
    if (f.pos_x != null) {
      ctx.fillStyle = "#fff"; ctx.strokeStyle = "#e10600"; ctx.lineWidth = 3;
      ctx.beginPath(); ctx.arc(px(f.pos_x), pz(f.pos_z), 7, 0, 7); ctx.fill(); ctx.stroke();
    }
  }

  // The lap distance of the outline point nearest a click on the map (null: nothing drawn).
  function mapDistance(ev) {
    const c = $("map"), box = c.getBoundingClientRect();
    if (!mapView || !box.width) return null;
    const x = ((ev.clientX - box.left) * c.width) / box.width, y = ((ev.clientY - box.top) * c.height) / box.height;
    let bestB = null, bestD = Infinity;
    outline.forEach((p, b) => {
      if (!p) return;
      const d = (mapView.px(p[0]) - x) ** 2 + (mapView.pz(p[1]) - y) ** 2;
      if (d < bestD) { bestD = d; bestB = b; }
    });
    return bestB == null || bestD > 30 * 30 ? null : bestB * BUCKET_M;
  }

  if ($("note-form")) $("note-form").addEventListener("submit", sendNote);
  if (cues) {
    cues.connect((msg) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(msg));
      return true;
    });
    $("map").addEventListener("click", (ev) => cues.mapClick(mapDistance(ev)));
  }
  connect();
  requestAnimationFrame(render);
})();
