// SimCoach archive pages: session lap-time chart, lap channels, lap comparison (uPlot).
// Data comes from the JSON API; charts share one cursor and one zoom per page.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const COLORS = ["#3aa0ff", "#ff8a00", "#19d36b", "#b061ff"];
  const U = window.SimUnits; // static/js/units.js: API values are km/h, kPa, °C; show the viewer's units
  const AXIS = { stroke: "#8794a3", grid: { stroke: "#2a323d", width: 1 }, ticks: { stroke: "#2a323d" } };

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then((r) => {
      if (!r.ok) throw new Error(url + ": HTTP " + r.status);
      return r.json();
    });
  }

  function fmtLap(s) {
    if (s == null) return "–";
    const m = Math.floor(s / 60), rest = s - 60 * m;
    return m + ":" + rest.toFixed(3).padStart(6, "0");
  }

  function showError(el, err) {
    const p = document.createElement("p");
    p.className = "error-text";
    p.textContent = "Could not load the chart data: " + err.message;
    el.appendChild(p);
  }

  // A chart is as wide as its container's content box and follows it when the window is
  // resized or a phone turns: a fixed floor (it was 320 px) pushed a 390 px page wide.
  const MIN_WIDTH = 160;
  function chartWidth(target) {
    const css = getComputedStyle(target);
    const pad = parseFloat(css.paddingLeft) + parseFloat(css.paddingRight);
    return Math.max(MIN_WIDTH, Math.floor(target.clientWidth - pad));
  }
  function followWidth(plot, target) {
    if (!window.ResizeObserver) return;
    let last = target.clientWidth;
    new ResizeObserver(() => {
      if (target.clientWidth === last) return;
      last = target.clientWidth;
      plot.setSize({ width: chartWidth(target), height: plot.height });
    }).observe(target);
  }

  // ---- linked charts: one cursor (uPlot cursor.sync) and one x zoom across a group
  function linkedGroup(key) {
    const plots = [];
    let syncing = false;
    const zoomHook = (u) => {
      if (syncing) return;
      syncing = true;
      const { min, max } = u.scales.x;
      plots.forEach((p) => { if (p !== u) p.setScale("x", { min, max }); });
      syncing = false;
    };
    return {
      plots,
      make(target, title, series, data, opts) {
        // A file without a channel (Crew Chief has no steering) sends it as null: leave it
        // out of the chart, and skip a chart left with nothing to draw.
        const keep = series.map((_, i) => data[i + 1] != null);
        if (!keep.some(Boolean)) return null;
        series = series.filter((_, i) => keep[i]);
        data = [data[0]].concat(data.slice(1).filter((_, i) => keep[i]));
        const el = document.createElement("div");
        el.className = "chart";
        target.appendChild(el);
        const width = chartWidth(target);
        const plot = new uPlot(
          Object.assign(
            {
              title,
              width,
              height: (opts && opts.height) || 150,
              scales: { x: { time: false } },
              cursor: { sync: { key, setSeries: true }, drag: { x: true, y: false } },
              legend: { live: true },
              axes: [Object.assign({}, AXIS), Object.assign({ size: 56 }, AXIS)],
              series: [{ label: "m", value: (u, v) => (v == null ? "–" : v.toFixed(0) + " m") }].concat(series),
              hooks: { setScale: [(u, k) => k === "x" && zoomHook(u)], setCursor: [] },
            },
            (opts && opts.extra) || {},
          ),
          data,
          el,
        );
        followWidth(plot, target);
        plots.push(plot);
        return plot;
      },
    };
  }

  const line = (label, color, extra) => Object.assign({ label, stroke: color, width: 1.5, spanGaps: true }, extra || {});
  const stepped = (label, color) => line(label, color, { paths: uPlot.paths.stepped({ align: 1 }) });

  // ---- track map on a canvas: points coloured per sample, names at corners, a cursor dot
  function trackMap(canvas, xs, zs, colorAt) {
    const ctx = canvas.getContext("2d");
    const ok = xs.map((x, i) => x != null && zs[i] != null);
    const fx = xs.filter((_, i) => ok[i]), fz = zs.filter((_, i) => ok[i]);
    if (!fx.length) return null;
    const minX = Math.min(...fx), maxX = Math.max(...fx), minZ = Math.min(...fz), maxZ = Math.max(...fz);
    const pad = 24, scale = Math.min((canvas.width - 2 * pad) / (maxX - minX || 1), (canvas.height - 2 * pad) / (maxZ - minZ || 1));
    // World z points north; the canvas y axis points down, so flip it.
    const px = (x) => pad + (x - minX) * scale, py = (z) => canvas.height - pad - (z - minZ) * scale;
    function draw() {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.lineWidth = 4;
      ctx.lineCap = "round";
      for (let i = 1; i < xs.length; i++) {
        if (!ok[i] || !ok[i - 1]) continue;
        ctx.strokeStyle = colorAt(i);
        ctx.beginPath();
        ctx.moveTo(px(xs[i - 1]), py(zs[i - 1]));
        ctx.lineTo(px(xs[i]), py(zs[i]));
        ctx.stroke();
      }
    }
    draw();
    return {
      draw,
      label(i, text) {
        if (!ok[i]) return;
        ctx.fillStyle = "#e8edf2";
        ctx.font = "11px system-ui";
        ctx.fillText(text, px(xs[i]) + 6, py(zs[i]) - 6);
      },
      dot(i) {
        if (i == null || !ok[i]) return;
        ctx.fillStyle = "#fff";
        ctx.beginPath();
        ctx.arc(px(xs[i]), py(zs[i]), 5, 0, 2 * Math.PI);
        ctx.fill();
      },
    };
  }

  function nearest(sorted, value) {
    let lo = 0, hi = sorted.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < value) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  function speedColor(v, lo, hi) {
    const f = Math.max(0, Math.min(1, (v - lo) / (hi - lo || 1)));
    return "hsl(" + Math.round(f * 120) + ",85%,50%)"; // red slow → green fast
  }

  function lossColor(rate, scale) {
    const f = Math.max(-1, Math.min(1, rate / (scale || 1)));
    if (Math.abs(f) < 0.05) return "#5b6573";
    return f > 0 ? "rgba(255,59,59," + (0.35 + 0.65 * f) + ")" : "rgba(25,211,107," + (0.35 - 0.65 * f) + ")";
  }

  // Redraw the map with a dot where the chart cursor is.
  function followCursor(group, map, redraw) {
    group.plots.forEach((p) => p.hooks.setCursor && p.hooks.setCursor.push((u) => { redraw(); map.dot(u.cursor.idx); }));
  }

  // ---- pages
  function sessionPage(root) {
    getJSON(root.dataset.api).then((s) => {
      const laps = s.laps.filter((l) => l.time_ms);
      const x = laps.map((l) => l.number);
      // green: the server's one rule (apps/sessions/lib/stats.py); untimed laps have no point
      const ok = laps.map((l) => (l.green ? l.time_ms / 1000 : null));
      const other = laps.map((l) => (l.green || !l.time_ms ? null : l.time_ms / 1000));
      const target = $("laptimes-chart");
      if (!laps.length) { target.textContent = "No timed laps yet."; return; }
      const pts = (color) => ({ show: true, size: 8, stroke: color, fill: color });
      const plot = new uPlot(
        {
          width: chartWidth(target),
          height: 200,
          scales: { x: { time: false } },
          axes: [Object.assign({ label: "lap", incrs: [1, 2, 5, 10, 25, 50, 100] }, AXIS), Object.assign({ size: 84, values: (u, v) => v.map(fmtLap) }, AXIS)],
          series: [
            { label: "lap" },
            { label: "green", stroke: COLORS[0], width: 1.5, points: pts(COLORS[0]), value: (u, v) => fmtLap(v), spanGaps: true },
            { label: "not green (invalid, in/out, partial)", stroke: "transparent", points: pts("#8794a3"), value: (u, v) => fmtLap(v) },
          ],
        },
        [x, ok, other],
        target,
      );
      followWidth(plot, target);
    }).catch((e) => showError($("laptimes-chart"), e));
  }

  const WHEELS = ["fl", "fr", "rl", "rr"];

  function lapPage(root) {
    const chans = ["speed", "throttle", "brake", "gear", "steering", "rpm", "pos_x", "pos_z"]
      .concat(WHEELS.map((w) => "tyre_temp_" + w), WHEELS.map((w) => "brake_temp_" + w));
    Promise.all([getJSON(root.dataset.api), getJSON(root.dataset.channels + "?points=2000&channels=" + chans.join(","))])
      .then(([lap, data]) => {
        const c = data.channels, d = c.lap_dist;
        const group = linkedGroup("lap");
        const charts = $("lap-charts");
        group.make(charts, "Speed " + U.unit("km/h"), [line("speed", COLORS[0])], [d, U.column(c.speed, "km/h")]);
        group.make(charts, "Throttle / brake", [line("throttle", "#19d36b"), line("brake", "#ff3b3b")], [d, c.throttle, c.brake], { height: 120 });
        group.make(charts, "Gear", [stepped("gear", "#ff8a00")], [d, c.gear], { height: 100 });
        group.make(charts, "Steering", [line("steering", "#b061ff")], [d, c.steering], { height: 100 });
        group.make(charts, "RPM", [line("rpm", "#ffd21f")], [d, c.rpm], { height: 110 });
        const temps = $("temp-charts");
        const tyres = WHEELS.filter((w) => c["tyre_temp_" + w]);
        const brakes = WHEELS.filter((w) => c["brake_temp_" + w]);
        if (tyres.length) group.make(temps, "Tyres " + U.unit("°C"), tyres.map((w, i) => line(w.toUpperCase(), COLORS[i])), [d].concat(tyres.map((w) => U.column(c["tyre_temp_" + w], "°C"))), { height: 140 });
        if (brakes.length) group.make(temps, "Brakes " + U.unit("°C"), brakes.map((w, i) => line(w.toUpperCase(), COLORS[i])), [d].concat(brakes.map((w) => U.column(c["brake_temp_" + w], "°C"))), { height: 140 });
        if (!c.pos_x) return;
        const speeds = c.speed.filter((v) => v != null);
        const lo = Math.min(...speeds), hi = Math.max(...speeds);
        const map = trackMap($("track-map"), c.pos_x, c.pos_z, (i) => speedColor(c.speed[i], lo, hi));
        if (!map) return;
        const corners = (lap.analysis && lap.analysis.corners) || [];
        const redraw = () => { map.draw(); corners.forEach((k) => map.label(nearest(d, k.apex_m), k.name)); };
        redraw();
        followCursor(group, map, redraw);
      })
      .catch((e) => showError($("lap-charts"), e));
  }

  function comparePage(root) {
    getJSON(root.dataset.api).then((cmp) => {
      const d = cmp.distance, laps = cmp.laps;
      const group = linkedGroup("compare");
      const charts = $("compare-charts");
      const overlay = (title, name, opts, make, stored) =>
        group.make(charts, title, laps.map((l, i) => make("Lap " + l.number, COLORS[i])), [d].concat(laps.map((l) => U.column(l.channels[name], stored))), opts);
      overlay("Speed " + U.unit("km/h"), "speed", { height: 170 }, line, "km/h");
      overlay("Throttle", "throttle", { height: 110 }, line);
      overlay("Brake", "brake", { height: 110 }, line);
      overlay("Gear", "gear", { height: 100 }, stepped);
      group.make(
        charts,
        "Time delta s (+ = behind the reference)",
        cmp.versus.map((v, i) => line("Lap " + laps[i + 1].number, COLORS[i + 1])),
        [d].concat(cmp.versus.map((v) => v.delta)),
        { height: 150 },
      );
      if (!cmp.map || !cmp.versus.length) return;
      const rate = cmp.versus[0].loss_rate;
      const scale = Math.max(...rate.map((r) => Math.abs(r || 0))) / 2;
      const map = trackMap($("track-map"), cmp.map.x, cmp.map.z, (i) => lossColor(rate[i] || 0, scale));
      if (!map) return;
      const corners = cmp.versus[0].corners;
      const redraw = () => { map.draw(); corners.forEach((k) => map.label(nearest(d, k.apex_m), k.name)); };
      redraw();
      followCursor(group, map, redraw);
    }).catch((e) => showError($("compare-charts"), e));
  }

  const pages = { "session-page": sessionPage, "lap-page": lapPage, "compare-page": comparePage };
  Object.keys(pages).forEach((id) => { const el = $(id); if (el) pages[id](el); });
})();
