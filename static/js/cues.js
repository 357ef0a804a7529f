// Cues pinned to a place on track, on the live page (driver) and the share page (coach).
// live.js owns the socket: it hands this file the session, the cue messages and a `send`;
// pins and removals go back over that socket (the server checks who may pin on what).
(function () {
  "use strict";
  const panel = document.querySelector(".panel.cues");
  if (!panel) return;
  const $ = (id) => document.getElementById(id);
  const U = window.SimUnits;
  const BANNER_MS = 5000;
  let send = null, session = null, cues = new Map(), bannerTimer = null;

  function label(c) { return c.label || Math.round(c.at_m) + " m"; }

  function facts(c) {
    const parts = [];
    if (c.delivery_ms != null) parts.push("delivered in " + Math.round(c.delivery_ms) + " ms");
    else if (c.sent_at) parts.push("sent, not acked yet");
    else parts.push("waiting for the rig");
    if (c.spoken_before_m != null) {
      const kmh = c.spoken_speed_kmh || 0;
      const secs = kmh > 0 ? (c.spoken_before_m / (kmh / 3.6)).toFixed(1) + " s at " + U.fmt(kmh, "km/h", 0) : "stopped";
      parts.push("spoken " + Math.round(c.spoken_before_m) + " m before (" + secs + ", lap " + c.spoken_lap + ")");
    }
    return parts.join(" · ");
  }

  function renderList() {
    const ul = $("cue-list");
    ul.textContent = "";
    const active = [...cues.values()].filter((c) => !c.removed).sort((a, b) => a.at_m - b.at_m);
    if (!active.length) {
      const li = document.createElement("li");
      li.className = "muted"; li.textContent = "No cues pinned.";
      ul.append(li);
      return;
    }
    for (const c of active) {
      const li = document.createElement("li");
      li.dataset.cue = c.id;
      const head = document.createElement("div");
      const where = document.createElement("strong");
      where.textContent = label(c) + " ";
      const text = document.createElement("span");
      text.className = "cue-text";
      text.textContent = c.text;
      head.append(where, text);
      const meta = document.createElement("div");
      meta.className = "muted cue-facts";
      meta.textContent = c.lead_s + " s before · " + (c.repeat === "once" ? "once" : "every lap") + " · by " + c.author + " · " + facts(c);
      const remove = document.createElement("button");
      remove.type = "button"; remove.className = "button small danger cue-remove";
      remove.textContent = "Remove"; remove.dataset.id = c.id;
      li.append(head, meta, remove);
      ul.append(li);
    }
  }

  function renderCorners() {
    const box = $("cue-corners");
    box.textContent = "";
    const corners = (session && session.corners) || [];
    if (session && !corners.length) {
      const hint = document.createElement("span");
      hint.className = "muted";
      hint.textContent = "No corners known for this track: type a distance, or click the map once it is drawn.";
      box.append(hint);
    }
    for (const c of corners) {
      const b = document.createElement("button");
      b.type = "button"; b.className = "button small ghost cue-corner";
      // The corner's start: where the braking and turn-in happen, so "before it" is in time.
      b.dataset.at = Math.round(c.start_m); b.dataset.name = c.name;
      b.textContent = c.name;
      box.append(b);
    }
  }

  function choose(at, name) {
    $("cue-at").value = Math.round(at);
    $("cue-where").textContent = name || "";
    $("cue-where").dataset.name = name || "";
    $("cue-text").focus();
  }

  function banner(c) {
    const el = $("cue-banner");
    el.hidden = false;
    el.textContent = "CUE · " + label(c) + " in " + Math.round(c.spoken_before_m) + " m: " + c.text;
    clearTimeout(bannerTimer);
    bannerTimer = setTimeout(() => { el.hidden = true; }, BANNER_MS);
  }

  function pin(ev) {
    ev.preventDefault();
    const status = $("cue-status");
    const at = parseFloat($("cue-at").value), text = $("cue-text").value.trim();
    if (!session) { status.textContent = "no live session yet"; return; }
    if (!isFinite(at) || at < 0) { status.textContent = "choose a distance"; return; }
    if (!text) { status.textContent = "write the cue"; return; }
    const msg = { type: "cue_pin", at_m: at, text: text, lead_s: parseFloat($("cue-lead").value), repeat: $("cue-repeat").value };
    if ($("cue-where").dataset.name) msg.label = $("cue-where").dataset.name;
    if (!send || !send(msg)) { status.textContent = "not connected"; return; }
    status.textContent = "pinning…";
    $("cue-text").value = "";
  }

  panel.addEventListener("click", (ev) => {
    const corner = ev.target.closest(".cue-corner");
    if (corner) return choose(parseFloat(corner.dataset.at), corner.dataset.name);
    const remove = ev.target.closest(".cue-remove");
    if (remove && send) send({ type: "cue_remove", id: Number(remove.dataset.id) });
  });
  $("cue-at").addEventListener("input", () => { $("cue-where").textContent = ""; $("cue-where").dataset.name = ""; });
  $("cue-form").addEventListener("submit", pin);

  window.simcoachCues = {
    connect(sender) { send = sender; },
    session(s) { session = s; cues = new Map((s.cues || []).map((c) => [c.id, c])); renderCorners(); renderList(); },
    // a click on the track map (live.js knows the drawing): the lap distance under it
    mapClick(at) { if (at != null) choose(at, ""); },
    handle(msg) {
      if (msg.type === "cue_refused") { $("cue-status").textContent = "not pinned: " + msg.reason; return; }
      if (msg.type !== "cue") return;
      const c = msg.cue;
      if (session && c.session_id !== session.session_id) return;
      const isNew = !cues.has(c.id);
      cues.set(c.id, c);
      if (isNew && !c.removed) $("cue-status").textContent = "pinned: " + label(c);
      if (msg.spoken) banner(c);
      renderList();
    },
    points() { return [...cues.values()].filter((c) => !c.removed).map((c) => c.at_m); },
  };
})();
