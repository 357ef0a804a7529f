"""Security headers on every page, pages that keep to the policy, and error pages that show no
service passwords."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from django.test import Client, RequestFactory
from django.views.debug import technical_500_response

from simcoach_site.errors import url_password_masked
from simcoach_site.headers import SITE_POLICY

ROOT = Path(__file__).resolve().parent.parent


def debug_page() -> str:
    """Django's DEBUG error page for an exception raised here. (Raised in this small function,
    far from the test's secrets: the page shows the source lines and locals of every frame.)"""
    request = RequestFactory().get("/boom/")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return technical_500_response(request, *sys.exc_info()).content.decode()


TEMPLATE_DIRS = [ROOT / "templates", *sorted((ROOT / "apps").glob("*/templates"))]
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on...= event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


@pytest.mark.django_db
class TestHeaders:
    @pytest.mark.parametrize(
        "path", ["/", "/accounts/login/", "/accounts/signup/", "/api/status", "/admin/login/"]
    )
    def test_anonymous_pages_carry_the_policies(self, client: Client, path: str) -> None:
        resp = client.get(path)
        assert resp["Content-Security-Policy"] == SITE_POLICY
        assert "camera=()" in resp["Permissions-Policy"] and "geolocation=()" in resp["Permissions-Policy"]

    def test_logged_in_pages_carry_the_policies(self, client: Client, driver) -> None:  # type: ignore[no-untyped-def]
        client.force_login(driver)
        for path in ("/live/", "/sessions/", "/rigs/", "/sharing/", "/pair/", "/import/"):
            resp = client.get(path)
            assert resp.status_code == 200, path
            assert resp["Content-Security-Policy"] == SITE_POLICY, path

    def test_the_site_policy_allows_no_inline_code(self) -> None:
        directives = dict(d.strip().split(" ", 1) for d in SITE_POLICY.split(";"))
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert "unsafe" not in SITE_POLICY
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"

    def test_the_api_docs_get_the_site_policy_too(self, client: Client, driver) -> None:  # type: ignore[no-untyped-def]
        client.force_login(driver)
        assert client.get("/api/docs/")["Content-Security-Policy"] == SITE_POLICY
        assert client.get("/api/schema/")["Content-Security-Policy"] == SITE_POLICY


@pytest.mark.parametrize(
    "template", [p for d in TEMPLATE_DIRS for p in sorted(d.rglob("*.html"))], ids=lambda p: p.name
)
def test_templates_have_no_inline_code(template: Path) -> None:
    text = template.read_text()
    found = [what for pattern, what in INLINE if pattern.search(text)]
    assert not found, f"{template.relative_to(ROOT)} has {', '.join(found)}: the CSP blocks it"


def test_the_template_scan_finds_inline_code() -> None:
    # Guards the scan itself: patterns that matched nothing would pass every template.
    samples = [
        "<script>x()</script>",
        "<style>a{}</style>",
        '<p style="x">',
        "<b onclick='x'>",
        '<a href="javascript:x">',
    ]
    for sample, (pattern, _) in zip(samples, INLINE, strict=True):
        assert pattern.search(sample)
    assert not INLINE[0][0].search('<script src="/static/js/site.js"></script>')


@pytest.mark.django_db
def test_the_browsable_api_has_no_inline_style(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    # DRF writes Pygments' colours into an inline style element when Pygments is installed;
    # templates/rest_framework/api.html leaves it out (the browser refused it under our CSP).
    client.force_login(driver)
    html = client.get("/api/", HTTP_ACCEPT="text/html").content.decode()
    assert "rest_framework/css/bootstrap.min.css" in html
    assert "<style" not in html


SECRETS = {
    "REDIS_URL": "redis://:redis-Secret-1@redis:6379/0",
    "CELERY_BROKER_URL": "redis://:broker-Secret-2@redis:6379/1",
    "INFLUX_URL": "http://admin:influx-Secret-3@influxdb:8086",
    "DATABASE_URL": "postgres://simcoach:db-Secret-4@postgres:5432/simcoach",
}


class TestDebugPage:
    def test_it_masks_service_urls_and_passwords_inside_other_settings(self, settings) -> None:  # type: ignore[no-untyped-def]
        settings.DEBUG = True
        for name, value in SECRETS.items():
            setattr(settings, name, value)
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": SECRETS["REDIS_URL"],
            }
        }
        settings.SOME_PUBLIC_URL = "https://user:other-Secret-5@example.com/x"
        page = debug_page()
        for secret in [
            "redis-Secret-1",
            "broker-Secret-2",
            "influx-Secret-3",
            "db-Secret-4",
            "other-Secret-5",
        ]:
            assert secret not in page, secret
        assert "REDIS_URL" in page and "INFLUX_URL" in page  # named, with the value masked
        assert "https://user:********************@example.com/x" in page  # host kept for debugging

    def test_url_masking_keeps_everything_but_the_password(self) -> None:
        assert url_password_masked("redis://:pw@h:6379/0") == "redis://:********************@h:6379/0"
        assert url_password_masked("postgres://u:p%40ss@db/x") == "postgres://u:********************@db/x"
        assert url_password_masked("http://influxdb:8086") == "http://influxdb:8086"
        assert (
            url_password_masked("redis://h:6379/0 and http://a:b@c")
            == "redis://h:6379/0 and http://a:********************@c"
        )
