"""The import page in a real browser: chunked upload, the worker's progress, the result or error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from apps.sessions.models import Import, Session
from apps.sessions.tests.import_cases import IMOLA
from simcoach_site import jobs

from .test_compare_browser import WAIT_MS, log_in

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.fixtures,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("isolated_trace_store"),
]

# Every change to a row's bar and phase text, as the page showed it.
WATCH = """() => {
  window.seenRows = [];
  const list = document.getElementById('import-results');
  new MutationObserver(() => {
    list.querySelectorAll('.import-row').forEach((row) => {
      const bar = row.querySelector('progress');
      window.seenRows.push([row.querySelector('.import-name').textContent, bar.value,
                            row.querySelector('.import-phase').textContent]);
    });
  }).observe(list, { subtree: true, childList: true, characterData: true, attributes: true });
}"""


def test_the_page_uploads_in_chunks_shows_progress_and_each_result(
    live_server,
    driver,
    browser: Browser,
    fixtures_dir: Path,
    tmp_path: Path,
    settings,
    import_upload_dir: Path,
) -> None:  # type: ignore[no-untyped-def]
    settings.IMPORT_CHUNK_BYTES = 1024 * 1024  # the 3.2 MB .ld goes in four chunks
    settings.JOBS_INLINE = False  # the in-process runner: requests return, a thread imports
    settings.CELERY_TASK_ALWAYS_EAGER = True
    broken = tmp_path / "broken.ld"
    broken.write_bytes((fixtures_dir / IMOLA).read_bytes()[:5000])

    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    puts: list[str] = []
    page.on("request", lambda r: puts.append(r.url) if r.method == "PUT" else None)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/import/")
    page.evaluate(WATCH)
    page.set_input_files("input[name=file]", [str(fixtures_dir / IMOLA), str(broken)])
    page.click("#import-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelectorAll('#import-results .import-row[data-state=done],"
        " #import-results .import-row[data-state=failed]').length === 2",
        timeout=WAIT_MS,
    )
    jobs.wait_idle(60)

    session = Session.objects.get()
    good = page.locator(".import-row", has_text=Path(IMOLA).name)
    assert good.locator(".import-result a").get_attribute("href") == f"/sessions/{session.pk}/"
    assert "1 lap" in good.inner_text()
    bad = page.locator(".import-row", has_text="broken.ld")
    assert bad.locator(".errorlist").inner_text().startswith("broken.ld: MoTeC .ld")

    assert len([u for u in puts if "offset=" in u]) == 4 + 1  # four chunks of the .ld, one of the broken file
    seen = page.evaluate("() => window.seenRows")
    ld = [(value, text) for name, value, text in seen if name == Path(IMOLA).name]
    assert any(0 < v < 100 and t.startswith("uploading") for v, t in ld)  # the bar moved while sending
    assert any(
        t in ("waiting for a worker", "checking the file", "reading the file") or t.startswith("storing")
        for _, t in ld
    )
    assert errors == []
    assert list(import_upload_dir.iterdir()) == [] and Import.objects.filter(state="failed").count() == 1
