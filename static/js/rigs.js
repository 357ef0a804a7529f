// My rigs: a pairing approved a moment ago becomes a rig only when its agent collects the token
// (its next poll, within seconds). Until then the rows are re-read, so the new rig shows up
// without a reload.
(function () {
  "use strict";
  const table = document.getElementById("rig-table");
  if (!table) return;
  const EVERY_MS = 1500;
  const GIVE_UP_MS = 15 * 60 * 1000; // a device code lives 15 minutes at most
  const started = Date.now();

  function waiting() {
    const rows = document.getElementById("rig-rows");
    return rows && Number(rows.dataset.waiting) > 0;
  }

  async function refresh() {
    if (!waiting() || Date.now() - started > GIVE_UP_MS) return;
    try {
      const response = await fetch(table.dataset.partial, { credentials: "same-origin" });
      if (response.ok) {
        const doc = new DOMParser().parseFromString("<table>" + (await response.text()) + "</table>", "text/html");
        const fresh = doc.getElementById("rig-rows");
        if (fresh) document.getElementById("rig-rows").replaceWith(document.adoptNode(fresh));
      }
    } catch (err) {
      // offline for a moment: the next look tries again
    }
    setTimeout(refresh, EVERY_MS);
  }

  setTimeout(refresh, EVERY_MS);
})();
