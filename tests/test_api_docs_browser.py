"""The API docs render from the site's own files: no request leaves for another origin."""

from __future__ import annotations

import os
import urllib.parse

import pytest
from playwright.sync_api import Browser, Route

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WAIT_MS = 30_000


def origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# Redoc is not served: its bundle fetches its "powered by" logo from cdn.redoc.ly, whatever
# the options, and its page template fetches Google Fonts.
@pytest.mark.parametrize(
    ("path", "rendered", "text"),
    [
        ("/api/docs/", ".swagger-ui .info .title", "SimCoach API"),  # Swagger UI drew the schema
        ("/api/", ".response-info", "/api/sessions/"),  # DRF's page for the route list
    ],
)
def test_the_docs_load_nothing_from_another_origin(
    live_server, browser: Browser, path: str, rendered: str, text: str
) -> None:  # type: ignore[no-untyped-def]
    here = origin(live_server.url)
    requested: list[str] = []
    errors: list[str] = []
    page = browser.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def offline(route: Route) -> None:  # like a LAN without internet: other origins never answer
        requested.append(route.request.url)
        if origin(route.request.url) == here or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            route.abort("internetdisconnected")

    page.route("**/*", offline)
    page.goto(f"{live_server.url}{path}")
    page.wait_for_selector(rendered, timeout=WAIT_MS)
    assert text in page.inner_text(rendered)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    elsewhere = [url for url in requested if origin(url) != here and not url.startswith(("data:", "blob:"))]
    assert elsewhere == [], f"{path} asked other origins for {elsewhere}"
    assert path != "/api/docs/" or any("/static/drf_spectacular_sidecar/" in url for url in requested)
    assert errors == []


# The site's own policy: no 'unsafe-inline', nothing from another origin.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'"
)
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


def test_the_docs_work_under_a_strict_content_security_policy(live_server, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.add_init_script(LISTEN)

    def with_csp(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

    page.route(f"{live_server.url}/api/docs/", with_csp)
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    assert page.evaluate("() => window.__csp") == []
    assert page.evaluate("() => getComputedStyle(document.body).margin") == "0px"  # our css file applied
    assert errors == []
