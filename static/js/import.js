// Import page: upload each chosen file to the API with a progress bar, list the results.
// Without JavaScript the form posts to /import/ and the server renders the same list.
(function () {
  "use strict";
  const form = document.getElementById("import-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  const bar = document.querySelector("#import-progress progress");
  const label = document.querySelector("#import-progress span");
  const results = document.getElementById("import-results");
  const errorBox = document.getElementById("import-error");
  const fields = document.getElementById("import-fields");

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function addResult(name, body) {
    const li = document.createElement("li");
    if (body.error) {
      li.className = "errorlist";
      li.textContent = body.error;
    } else {
      const a = document.createElement("a");
      a.href = body.url;
      a.textContent = name;
      li.appendChild(a);
      const laps = " — " + body.laps + (body.laps === 1 ? " lap" : " laps");
      li.appendChild(document.createTextNode(laps + (body.created ? "" : " (already imported)")));
      (body.warnings || []).forEach(function (w) {
        const span = document.createElement("span");
        span.className = "muted";
        span.textContent = w;
        li.appendChild(document.createElement("br"));
        li.appendChild(span);
      });
    }
    results.appendChild(li);
  }

  // One request per file, one after the other: the bar shows the file being sent.
  function upload(file, index, count) {
    return new Promise(function (resolve) {
      const data = new FormData();
      data.append("file", file);
      const ldx = form.elements.ldx.files[0];
      if (ldx) data.append("ldx", ldx);
      ["game", "track", "car", "kind"].forEach(function (k) { data.append(k, form.elements[k].value); });
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.api);
      xhr.setRequestHeader("X-CSRFToken", form.elements.csrfmiddlewaretoken.value);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        bar.value = Math.round((100 * e.loaded) / e.total);
        label.textContent = file.name + " (" + (index + 1) + "/" + count + "): " + bar.value + "%";
      };
      xhr.upload.onload = function () { label.textContent = file.name + ": reading laps..."; };
      xhr.onload = function () {
        let body;
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = { error: file.name + ": HTTP " + xhr.status }; }
        if (body.missing && body.missing.length) fields.open = true;
        addResult(file.name, body);
        resolve(body);
      };
      xhr.onerror = function () {
        addResult(file.name, { error: file.name + ": the upload failed (network)" });
        resolve(null);
      };
      xhr.send(data);
    });
  }

  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    const files = Array.from(form.elements.file.files);
    if (!files.length) return showError("choose at least one file to import");
    showError("");
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    document.getElementById("import-progress").hidden = false;
    for (let i = 0; i < files.length; i++) await upload(files[i], i, files.length);
    label.textContent = "done";
    button.disabled = false;
  });
})();
