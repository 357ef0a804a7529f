// The report panel: polls while a report is being written and swaps the panel in when it changes.
// A static file, not inline, so the Content-Security-Policy needs no 'unsafe-inline'. The panel
// includes it; a panel swapped in again by outerHTML does not run it again (and the guard below
// keeps it to one poller anyway).
(function () {
  // One poller per page, however often the panel is swapped in again.
  if (window.simcoachReportPoller) return;
  window.simcoachReportPoller = true;
  // Every 2 s while a report is being written (giving up after 5 minutes); every 5 s while
  // a live session has no report yet (it comes when the session ends).
  var EVERY_MS = 2000, WAITING_MS = 5000, GIVE_UP_MS = 5 * 60 * 1000, started = Date.now();
  function panel() { return document.getElementById("report-panel"); }
  function later() {
    var p = panel();
    setTimeout(tick, p && p.dataset.waiting ? WAITING_MS : EVERY_MS);
  }
  function giveUp(p) {
    var el = p.querySelector("[data-report-progress]");
    if (el) el.textContent = "Still not finished after 5 minutes: reload the page to check again.";
  }
  function swap(p) {
    return fetch(p.dataset.partial, {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) { p.outerHTML = html; });
  }
  function tick() {
    var p = panel();
    if (!p || !(p.dataset.active || p.dataset.waiting)) return;  // nothing to wait for: stop
    if (p.dataset.active && Date.now() - started > GIVE_UP_MS) return giveUp(p);
    fetch(p.dataset.api, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var rep = data.report;
        if (!rep && p.dataset.waiting) return;
        if (rep && rep.active && rep.status === p.dataset.status) return;
        return swap(p);
      })
      .catch(function () {})  // a network blip: the next tick tries again
      .then(later);
  }
  later();
})();
