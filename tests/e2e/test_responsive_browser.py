"""Every page at a desktop width (1440 px) and a phone width (390 px), in real Chromium against
real Daphne, on real data (an imported Crew Chief file, demo laps, a demo car streaming live).

A page fails on a console error, a failed request (4xx/5xx or a network error), a request to
another origin, or at 390 px on horizontal overflow (the page wider than the screen: the
coach on the pit wall has to scroll sideways to read it). Screenshots of every page at both
widths are written under $SIMCOACH_SCREENSHOTS (default: the test's tmp dir) to look at."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from apps.accounts.services import rig_create
from apps.coaching.services import lap_analyse
from apps.sessions.models import Session
from apps.sessions.services_import import session_import
from apps.sessions.tests.factories import session_with_demo_laps
from apps.sharing.services import coached_driver_save, share_link_create
from tests.servers import agent, set_server_password, stop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop
WAIT_MS = 30_000
DESKTOP, PHONE = 1440, 390
HEIGHTS = {DESKTOP: 900, PHONE: 844}
# What each page draws after load from its API calls or socket; screenshots wait for it.
CHARTS = ".uplot"
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
# The elements where the overflow starts (past the right edge, their parent is not), to say
# in the failure what to fix.
CULPRITS = """() => [...document.querySelectorAll('body *')].filter((el) => {
  const right = (e) => e.getBoundingClientRect().right;
  return right(el) > window.innerWidth + 0.5 && el.parentElement && right(el.parentElement) <= window.innerWidth + 0.5;
}).slice(0, 4).map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
  (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
  ' ' + Math.round(el.getBoundingClientRect().width) + 'px')"""


def origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class Watch:
    """Everything one page said went wrong, and every origin it asked for something."""

    page: Page
    here: str
    problems: list[str] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)  # origin -> first URL asked there

    def __post_init__(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"{self.page.url}: uncaught {exc}"))
        self.page.on("request", self._request)
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            where = msg.location
            self.problems.append(
                f"{self.page.url}: console error at {where.get('url')}:{where.get('lineNumber')}: {msg.text}"
            )

    def _request(self, request: Request) -> None:
        if not request.url.startswith(("data:", "blob:")):
            self.origins.setdefault(origin(request.url), request.url)

    def _failed(self, request: Request) -> None:
        # A page leaving while its socket or fetch is open aborts them: that is not a failure.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"{self.page.url}: {request.method} {request.url} failed: {request.failure}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(
                f"{self.page.url}: {response.request.method} {response.url} -> {response.status}"
            )

    def foreign(self) -> dict[str, str]:
        return {o: url for o, url in self.origins.items() if o != self.here}


def overflow(page: Page) -> int:
    return int(page.evaluate(OVERFLOW))


def visit(watch: Watch, path: str, width: int, shots: Path, ready: str | None = None) -> None:
    page = watch.page
    response = page.goto(watch.here + path)
    assert response is not None, path
    page.wait_for_load_state("load")
    if ready:
        try:
            page.wait_for_selector(ready, timeout=WAIT_MS)
        except PlaywrightTimeout:
            watch.problems.append(f"{page.url}: {ready} never drawn")
    page.wait_for_timeout(250)  # the first fetches and socket messages
    if width == PHONE and (wider := overflow(page)) > 0:
        culprits = ", ".join(page.evaluate(CULPRITS))
        watch.problems.append(f"{page.url}: {wider} px wider than a {PHONE} px screen ({culprits})")
    name = path.strip("/").replace("/", "_").replace("?", "_").replace("&", "_").replace("=", "-") or "home"
    page.screenshot(path=shots / f"{width}" / f"{name}.png", full_page=True)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    root = Path(os.environ.get("SIMCOACH_SCREENSHOTS") or tmp_path / "screenshots")
    for width in (DESKTOP, PHONE):
        (root / str(width)).mkdir(parents=True, exist_ok=True)
    return root


@dataclass
class Site:
    imported: Session
    demo: Session
    session_token: str
    live_token: str
    coached_id: int
    rig_token: str


@pytest.fixture
def site(driver, coach, fixtures_dir: Path) -> Site:  # type: ignore[no-untyped-def]
    # Everything stored before Chromium starts: Playwright's loop in this thread would refuse
    # the sync-to-async bridge that session events go through.
    set_server_password(driver, "driver-pass-1")
    driver.is_staff = driver.is_superuser = True  # the admin index is one of the pages
    driver.save(update_fields=["is_staff", "is_superuser"])
    path = fixtures_dir / "crewchief/session_1681021274_df.csv.gz"
    with path.open("rb") as f:
        imported = session_import(owner=driver, fileobj=f, filename=path.name).session
    demo = session_with_demo_laps(driver, laps=3, noise=False, start_t=1.8e9)
    for lap in demo.laps.all():
        lap_analyse(lap_id=lap.pk)
    _, session_token = share_link_create(owner=driver, session=imported, expires_in=None, label="Coach")
    rig, rig_token = rig_create(owner=driver, name="Sim rig on the long name side")
    _, live_token = share_link_create(owner=driver, rig=rig, expires_in=None, label="Pit wall")
    # The driver also coaches someone: the coached-drivers page has a row to lay out.
    other_rig, _ = rig_create(owner=coach, name="Coach rig")
    link, _ = share_link_create(owner=coach, rig=other_rig, expires_in=None, label="Teammate")
    from apps.sharing.models import ShareLink

    coached = coached_driver_save(coach=driver, link=ShareLink.objects.get(pk=link.pk))
    return Site(imported, demo, session_token, live_token, coached.pk, rig_token)


def logged_out_pages(site: Site) -> list[tuple[str, str | None]]:
    return [
        ("/accounts/login/", None),
        ("/accounts/signup/", None),
        (f"/s/{site.session_token}/", None),
        (f"/s/{site.live_token}/", None),
    ]


def logged_in_pages(site: Site) -> list[tuple[str, str | None]]:
    a, b = (site.imported.laps.get(number=n).pk for n in (3, 5))
    demo_lap = site.demo.laps.get(number=2).pk
    return [
        ("/", None),
        ("/live/", None),
        ("/sessions/", None),
        (f"/sessions/{site.imported.pk}/", CHARTS),
        (f"/sessions/{site.demo.pk}/", CHARTS),
        (f"/laps/{a}/", CHARTS),
        (f"/laps/{demo_lap}/", CHARTS),
        (f"/compare/?laps={a},{b}&ref={b}", CHARTS),
        (f"/sessions/{site.demo.pk}/report/", None),
        ("/import/", None),
        ("/pair/", None),
        ("/rigs/", None),
        ("/sharing/", None),
        ("/coaching/drivers/", None),
        (f"/coaching/drivers/{site.coached_id}/", None),
        ("/accounts/password/", None),
        ("/api/", None),
        ("/api/docs/", ".swagger-ui .info .title"),
        ("/admin/", None),
    ]


@pytest.fixture
def contexts(browser: Browser) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    # One browser, one page per context, reused for every page at both widths.
    outside, inside = browser.new_context(), browser.new_context()
    yield outside, inside
    outside.close()
    inside.close()


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "driver")
    page.fill("#id_password", "driver-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/live/")


@pytest.mark.fixtures
def test_every_page_at_desktop_and_phone_width(
    daphne_url: str, site: Site, contexts: tuple[BrowserContext, BrowserContext], shots: Path, tmp_path: Path
) -> None:
    proc = agent(
        ["--quiet", "run", "--game", "demo", "--server", daphne_url, "--token", site.rig_token], tmp_path
    )
    try:
        outside, inside = (Watch(c.new_page(), daphne_url) for c in contexts)
        log_in(inside.page, daphne_url)
        for width in (DESKTOP, PHONE):
            for watch, pages in ((outside, logged_out_pages(site)), (inside, logged_in_pages(site))):
                watch.page.set_viewport_size({"width": width, "height": HEIGHTS[width]})
                for path, ready in pages:
                    visit(watch, path, width, shots, ready)
    finally:
        stop(proc)
    problems = outside.problems + inside.problems
    assert problems == [], "\n".join(problems)
    # Nothing from a CDN, a font service or an analytics host: the site works on an offline LAN.
    assert outside.foreign() == {} and inside.foreign() == {}
    assert set(inside.origins) == {daphne_url}
