// Import page: announce each chosen file, send it in chunks (resumable), then follow the
// worker's progress by polling the import's status until it shows the session or the error.
// Without JavaScript the form posts to /import/, which queues the files and lists them.
(function () {
  "use strict";
  const form = document.getElementById("import-form");
  const results = document.getElementById("import-results");
  const errorBox = document.getElementById("import-error");
  const fields = document.getElementById("import-fields");
  if (!form || !results || !window.fetch || !window.XMLHttpRequest || !window.FormData) return;
  const chunkBytes = parseInt(form.dataset.chunk, 10) || 4 * 1024 * 1024;
  const csrf = form.elements.csrfmiddlewaretoken.value;
  const POLL_MS = 500;
  const RETRIES = 3;

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  // One row per file: name, bar, phase text, result.
  function makeRow(name) {
    const li = document.createElement("li");
    li.className = "import-row";
    const label = document.createElement("span");
    label.className = "import-name";
    label.textContent = name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    const phase = document.createElement("span");
    phase.className = "import-phase muted";
    const result = document.createElement("span");
    result.className = "import-result";
    li.append(label, " ", bar, " ", phase, " ", result);
    results.prepend(li);
    return li;
  }

  function setProgress(row, percent, text) {
    row.querySelector("progress").value = Math.max(0, Math.min(100, Math.round(percent)));
    row.querySelector(".import-phase").textContent = text;
  }

  function finish(row, body) {
    row.dataset.state = body.state || "failed";
    row.querySelector("progress").hidden = true;
    row.querySelector(".import-phase").textContent = "";
    const result = row.querySelector(".import-result");
    result.textContent = "";
    if (body.state !== "done") {
      const span = document.createElement("span");
      span.className = "errorlist";
      span.textContent = body.error || "the import failed";
      result.appendChild(span);
      if (body.missing && body.missing.length) fields.open = true;
      return;
    }
    const a = document.createElement("a");
    a.href = body.url;
    a.textContent = "session " + body.session_id;
    result.appendChild(a);
    const laps = " — " + body.laps + (body.laps === 1 ? " lap" : " laps");
    result.appendChild(document.createTextNode(laps + (body.created ? "" : " (already imported)")));
    (body.warnings || []).forEach(function (w) {
      const span = document.createElement("span");
      span.className = "muted";
      span.textContent = w;
      result.appendChild(document.createElement("br"));
      result.appendChild(span);
    });
  }

  async function json(response) {
    try {
      return await response.json();
    } catch (err) {
      return { state: "failed", error: "HTTP " + response.status };
    }
  }

  function create(file) {
    const data = new FormData();
    data.append("filename", file.name);
    data.append("size", String(file.size));
    const ldx = form.elements.ldx.files[0];
    if (ldx) data.append("ldx", ldx);
    ["game", "track", "car", "kind"].forEach(function (k) { data.append(k, form.elements[k].value); });
    return fetch(form.dataset.api, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    });
  }

  // PUT one chunk; resolves with [HTTP status, body]; onSent(bytes) as the browser sends it.
  function putChunk(url, blob, offset, onSent) {
    return new Promise(function (resolve) {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", url + "?offset=" + offset);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.addEventListener("progress", function (e) { onSent(e.loaded); });
      xhr.addEventListener("load", function () {
        let body;
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = { error: "HTTP " + xhr.status }; }
        resolve([xhr.status, body]);
      });
      xhr.addEventListener("error", function () { resolve([0, { error: "the network failed" }]); });
      xhr.send(blob);
    });
  }

  async function sendChunks(row, file, status) {
    let offset = status.received;
    let failures = 0;
    while (offset < file.size) {
      const end = Math.min(offset + chunkBytes, file.size);
      const [code, body] = await putChunk(status.chunk_url, file.slice(offset, end), offset, function (sent) {
        const pct = (100 * (offset + sent)) / file.size;
        setProgress(row, pct, "uploading " + Math.round(pct) + "%");
      });
      if (code === 200) {
        offset = body.received;
        failures = 0;
      } else if (code === 409 && typeof body.received === "number" && body.state === "uploading") {
        offset = body.received; // the server says where to go on from
      } else if (code === 0 && failures < RETRIES) {
        failures += 1; // resumable: ask the server how much it has, then go on from there
        const again = await json(await fetch(status.status_url, { credentials: "same-origin" }));
        if (typeof again.received === "number") offset = again.received;
      } else {
        return body;
      }
    }
    return null;
  }

  async function follow(row, url) {
    for (;;) {
      const body = await json(await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }));
      if (body.state === "done" || body.state === "failed" || !body.state) return finish(row, body);
      row.dataset.state = body.state;
      const text = body.state === "queued" ? "waiting for a worker" : body.phase || body.state;
      setProgress(row, 100 * (body.progress || 0), text);
      await new Promise(function (r) { setTimeout(r, POLL_MS); });
    }
  }

  async function importFile(file) {
    const row = makeRow(file.name);
    row.dataset.state = "uploading";
    try {
      await upload(row, file);
    } catch (err) {
      // fetch rejects only when the server cannot be reached at all
      finish(row, { state: "failed", error: file.name + ": the server cannot be reached (" + err.message + ")" });
    }
  }

  async function upload(row, file) {
    const response = await create(file);
    const status = await json(response);
    if (response.status !== 202) return finish(row, { state: "failed", error: status.error });
    row.dataset.status = status.status_url;
    const failed = status.state === "uploading" ? await sendChunks(row, file, status) : null;
    if (failed) return finish(row, { state: "failed", error: failed.error || "the upload failed" });
    setProgress(row, 0, "waiting for a worker");
    return follow(row, status.status_url);
  }

  // Rows the server listed that are still on their way: follow them too.
  results.querySelectorAll(".import-row").forEach(function (row) {
    if (row.dataset.state === "queued" || row.dataset.state === "running") follow(row, row.dataset.status);
  });

  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    const files = Array.from(form.elements.file.files);
    if (!files.length) return showError("choose at least one file to import");
    showError("");
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      // One file after the other: chunks of one file share the connection, the worker runs them in order.
      for (const file of files) await importFile(file);
    } finally {
      button.disabled = false;
    }
  });
})();
