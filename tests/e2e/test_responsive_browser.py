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
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    FloatRect,
    Page,
    Request,
    Response,
    WebSocket,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from apps.accounts.services import rig_create
from apps.coaching.services import lap_analyse
from apps.sessions.models import Session
from apps.sessions.services_import import session_import
from apps.sessions.tests.factories import session_with_demo_laps
from apps.sharing.services import coached_driver_save, share_link_create
from apps.teams.services import invitation_accept, invitation_create_user, session_share_set, team_create
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
    # A socket to the same host and port is the same origin as the page (ws: with http:).
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}"


@dataclass
class Watch:
    """Everything one page said went wrong, and every origin it asked for something."""

    page: Page
    here: str
    problems: list[str] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)  # origin -> first URL asked there
    sockets: list[str] = field(default_factory=list)  # WebSocket URLs (not in "request" events)

    def __post_init__(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"{self.page.url}: uncaught {exc}"))
        self.page.on("request", self._request)
        self.page.on("websocket", self._socket)
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            where = msg.location
            self.problems.append(
                f"{self.page.url}: console error at {where.get('url')}:{where.get('lineNumber')}: {msg.text}"
            )

    def _request(self, request: Request) -> None:
        self._asked(request.url)

    def _socket(self, socket: WebSocket) -> None:
        self.sockets.append(socket.url)
        self._asked(socket.url)

    def _asked(self, url: str) -> None:
        if not url.startswith(("data:", "blob:")):
            self.origins.setdefault(origin(url), url)

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


# (name of the screenshot, path, what the page draws after load and the crawl waits for)
PageSpec = tuple[str, str, str | None]


def visit(watch: Watch, spec: PageSpec, width: int, shots: Path) -> None:
    name, path, ready = spec
    page = watch.page
    response = page.goto(watch.here + path)
    assert response is not None, path
    page.wait_for_load_state("load")
    if ready:
        try:
            page.wait_for_selector(ready, timeout=WAIT_MS)
        except PlaywrightTimeout:
            watch.problems.append(f"{page.url}: {ready} never drawn")
    else:
        page.wait_for_timeout(250)  # the first fetches and socket messages
    if urllib.parse.urlsplit(page.url).path != urllib.parse.urlsplit(watch.here + path).path:
        watch.problems.append(f"{path}: ended on {page.url}")  # a login wall or a wrong redirect
    if width == PHONE and (wider := overflow(page)) > 0:
        culprits = ", ".join(page.evaluate(CULPRITS))
        watch.problems.append(f"{page.url}: {wider} px wider than a {PHONE} px screen ({culprits})")
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
    team_id: int
    team_driver_id: int


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
    # ... and owns a team the coach drives in, sharing a session: the team driver's pages.
    team = team_create(owner=driver, name="Spa endurance squad")
    owner = team.memberships.get()
    member = invitation_accept(
        user=coach, invitation=invitation_create_user(by=owner, username=coach.username)
    )
    session_share_set(
        membership=member, session=session_with_demo_laps(coach, laps=2, noise=False), shared=True
    )
    return Site(imported, demo, session_token, live_token, coached.pk, rig_token, team.pk, coach.pk)


def logged_out_pages(site: Site) -> list[PageSpec]:
    return [
        ("home", "/", None),  # logged in, it sends the driver on to the live page
        ("login", "/accounts/login/", None),
        ("signup", "/accounts/signup/", None),
        ("share-session", f"/s/{site.session_token}/", None),
        ("share-live", f"/s/{site.live_token}/", None),
    ]


def logged_in_pages(site: Site) -> list[PageSpec]:
    a, b, c, d = (site.imported.laps.get(number=n).pk for n in (3, 5, 4, 6))
    demo_lap = site.demo.laps.get(number=2).pk
    return [
        ("live", "/live/", None),
        ("sessions", "/sessions/", None),
        ("session-imported", f"/sessions/{site.imported.pk}/", CHARTS),
        ("session-demo", f"/sessions/{site.demo.pk}/", CHARTS),
        ("lap-imported", f"/laps/{a}/", CHARTS),
        ("lap-demo", f"/laps/{demo_lap}/", CHARTS),
        # four laps, the most a comparison takes: the widest legends and corner tables
        ("compare", f"/compare/?laps={a},{b},{c},{d}&ref={b}", CHARTS),
        ("report", f"/sessions/{site.demo.pk}/report/", None),
        ("session-live", f"/sessions/{site.demo.pk}/live/", None),
        ("import", "/import/", None),
        ("pair", "/pair/", None),
        ("rigs", "/rigs/", None),
        ("sharing", "/sharing/", None),
        ("coached-drivers", "/coaching/drivers/", None),
        ("coached-driver-live", f"/coaching/drivers/{site.coached_id}/", None),
        ("team", f"/teams/{site.team_id}/", None),
        ("team-driver", f"/coaching/teams/{site.team_id}/drivers/{site.team_driver_id}/", None),
        ("team-driver-live", f"/coaching/teams/{site.team_id}/drivers/{site.team_driver_id}/live/", None),
        ("team-delete", f"/teams/{site.team_id}/delete/", None),
        ("progress", f"/progress/?track={site.demo.track_id}&car={site.demo.car_id}", None),
        ("units", "/accounts/units/", None),
        ("password", "/accounts/password/", None),
        ("password-done", "/accounts/password/done/", None),
        ("api-root", "/api/", None),
        ("api-docs", "/api/docs/", ".swagger-ui .info .title"),
        ("admin", "/admin/", None),
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
                for spec in pages:
                    visit(watch, spec, width, shots)
    finally:
        stop(proc)
    # Nothing from a CDN, a font service or an analytics host: the site works on an offline LAN.
    foreign = [f"asked another origin: {url}" for w in (outside, inside) for url in w.foreign().values()]
    problems = outside.problems + inside.problems + foreign
    assert problems == [], "\n".join(problems)
    assert set(inside.origins) == set(outside.origins) == {daphne_url}
    assert inside.sockets and outside.sockets  # the live pages' sockets were seen and checked too


# ---- the layout's own behaviour, on the in-process live server (no sockets needed) ----


def box(page: Page, selector: str) -> FloatRect:
    found = page.locator(selector).bounding_box()
    assert found is not None, f"{selector} is not laid out"
    return found


def test_the_nav_folds_behind_a_menu_button_on_a_phone(
    live_server, driver, browser: Browser, shots: Path
) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": PHONE, "height": HEIGHTS[PHONE]})
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/sessions/")
    toggle, nav = page.locator(".nav-toggle"), page.locator("#site-nav")
    assert toggle.is_visible() and not nav.is_visible()
    # One row: the brand and the button share a centre line, and the bar stays short.
    brand, button = box(page, ".brand"), box(page, ".nav-toggle")
    assert abs((brand["y"] + brand["height"] / 2) - (button["y"] + button["height"] / 2)) < 4
    assert box(page, ".topbar")["height"] < 70
    assert toggle.get_attribute("aria-expanded") == "false"

    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    page.screenshot(path=shots / str(PHONE) / "nav-open.png")
    links = nav.locator("a, button")
    assert links.count() >= 8  # Live ... Pair a rig, and Log out
    for i in range(links.count()):
        link = box(page, f"#site-nav > :nth-child({i + 1})")
        assert link["x"] >= 0 and link["x"] + link["width"] <= PHONE, i
    assert overflow(page) <= 0
    page.click("#site-nav a[href='/rigs/']")
    page.wait_for_url(f"{live_server.url}/rigs/")
    assert not page.locator("#site-nav").is_visible()  # a new page starts folded

    page.click(".nav-toggle")
    page.keyboard.press("Escape")
    assert not nav.is_visible() and toggle.get_attribute("aria-expanded") == "false"

    # On a desktop the same page shows every link on one bar and no button.
    page.set_viewport_size({"width": DESKTOP, "height": HEIGHTS[DESKTOP]})
    assert nav.is_visible() and not toggle.is_visible()
    assert box(page, ".topbar")["height"] < 70


def test_logged_out_links_are_not_folded(live_server, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": PHONE, "height": HEIGHTS[PHONE]})
    page.goto(f"{live_server.url}/accounts/login/")
    assert not page.locator(".nav-toggle").is_visible()
    assert page.locator("#site-nav a[href='/accounts/signup/']").is_visible()


@pytest.fixture
def demo_lap(driver) -> int:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=2, noise=False)
    return int(session.laps.get(number=2).pk)


CHART_WIDTHS = "() => [...document.querySelectorAll('#lap-charts .uplot canvas')].map((c) => c.getBoundingClientRect().width)"


def test_lap_charts_follow_the_window_width(live_server, demo_lap: int, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": DESKTOP, "height": HEIGHTS[DESKTOP]})
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/laps/{demo_lap}/")
    page.wait_for_selector("#lap-charts .uplot", timeout=WAIT_MS)
    wide = page.evaluate(CHART_WIDTHS)
    assert min(wide) > 700  # two thirds of 1440 px, less padding

    # A phone turned, or a window narrowed: the charts shrink to fit, the page does not scroll.
    page.set_viewport_size({"width": PHONE, "height": HEIGHTS[PHONE]})
    page.wait_for_function(
        "() => [...document.querySelectorAll('#lap-charts .uplot canvas')].every((c) => c.getBoundingClientRect().right <= innerWidth)",
        timeout=WAIT_MS,
    )
    narrow = page.evaluate(CHART_WIDTHS)
    assert len(narrow) == len(wide) and max(narrow) < PHONE - 20
    assert overflow(page) <= 0

    page.set_viewport_size({"width": DESKTOP, "height": HEIGHTS[DESKTOP]})
    page.wait_for_function(
        "() => [...document.querySelectorAll('#lap-charts .uplot canvas')].every((c) => c.getBoundingClientRect().width > 700)",
        timeout=WAIT_MS,
    )


def test_the_crawl_sees_what_it_must_fail_on(live_server, browser: Browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Guards the watcher: each kind of fault, planted in a served page, must be reported.
    shots = tmp_path  # not the crawl's screenshot folder: these pages are broken on purpose
    (shots / str(PHONE)).mkdir()
    page = browser.new_page(viewport={"width": PHONE, "height": HEIGHTS[PHONE]})
    watch = Watch(page, live_server.url)
    visit(watch, ("login", "/accounts/login/", None), PHONE, shots)
    assert watch.problems == [] and watch.foreign() == {}
    page.evaluate("""() => {
        const wide = document.createElement('div');
        wide.id = 'too-wide';
        wide.style.width = '600px';  // CSSOM, which the policy allows
        wide.style.height = '1px';
        document.querySelector('main').appendChild(wide);
        console.error('planted error');
        fetch('/no-such-page/');
        const img = document.createElement('img');
        img.src = 'http://192.0.2.1/pixel.png';  // TEST-NET-1: another origin, never routed
        document.body.appendChild(img);
    }""")
    page.wait_for_function(
        "() => performance.getEntriesByName(location.origin + '/no-such-page/').length > 0"
    )
    assert overflow(page) > 0
    assert any(c.startswith("div#too-wide 600px") for c in page.evaluate(CULPRITS))
    assert any("console error" in p and "planted error" in p for p in watch.problems), watch.problems
    assert any("/no-such-page/ -> 404" in p for p in watch.problems), watch.problems
    assert watch.foreign() == {"http://192.0.2.1": "http://192.0.2.1/pixel.png"}
    # and a page that ends somewhere else than asked (a login wall) is one too
    watch.problems.clear()
    visit(watch, ("sessions-logged-out", "/sessions/", None), PHONE, shots)
    assert any("ended on" in p and "/accounts/login/" in p for p in watch.problems), watch.problems
