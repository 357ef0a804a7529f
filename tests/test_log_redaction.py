"""Tokens that travel in URLs never reach a log line: Daphne's access log (simcoach_site.serve),
Django's own log records, and nginx's access log format (deploy/nginx)."""

from __future__ import annotations

import logging
import re

import pytest

from simcoach_site.lib.redact import url_redacted
from simcoach_site.logs import RedactUrlsFilter
from simcoach_site.serve import RedactingActionLogger

from .deploy import stack

CASES = [
    ("/s/sc_share_abcDEF-_12/", "/s/[redacted]/"),
    ("/ai-sim-coach/s/sc_share_abc/live/", "/ai-sim-coach/s/[redacted]/live/"),
    ("/ws/share/sc_share_abc/", "/ws/share/[redacted]/"),
    ("/s/not-even-a-token/", "/s/[redacted]/"),
    ("/pair/?code=WDJB-MJHT", "/pair/?code=[redacted]"),
    ("/accounts/signup/?invite=sc_invite_abc&next=/x/", "/accounts/signup/?invite=[redacted]&next=/x/"),
    ("/api/x/?token=sc_rig_abc", "/api/x/?token=[redacted]"),
    ("/sessions/12/laps/3/", "/sessions/12/laps/3/"),
    ("/static/js/site.js", "/static/js/site.js"),
    ("/sessions/?q=s", "/sessions/?q=s"),
]


@pytest.mark.parametrize(("url", "logged"), CASES)
def test_url_redacted(url: str, logged: str) -> None:
    assert url_redacted(url) == logged


def test_it_redacts_a_prefixed_token_anywhere() -> None:
    assert url_redacted("Bad token sc_rig_AbC-123 from rig") == "Bad token sc_rig_[redacted] from rig"


def test_daphne_entries_are_redacted_before_they_are_written() -> None:
    seen: list[tuple[str, str, dict[str, object]]] = []
    logger = RedactingActionLogger(lambda *entry: seen.append(entry))
    logger("http", "complete", {"path": "/s/sc_share_x/", "status": 404, "client": "1.2.3.4:5"})
    logger("websocket", "connecting", {"path": "/ws/share/sc_share_x/", "client": "1.2.3.4:5"})
    assert [e[2]["path"] for e in seen] == ["/s/[redacted]/", "/ws/share/[redacted]/"]
    assert seen[0][2]["status"] == 404


def test_django_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("django.request")
    log.addFilter(flt := RedactUrlsFilter())
    try:
        with caplog.at_level(logging.WARNING, logger="django.request"):
            log.warning("Not Found: %s", "/s/sc_share_secret123/")
    finally:
        log.removeFilter(flt)
    assert caplog.messages == ["Not Found: /s/[redacted]/"]


def test_settings_attach_the_filter_to_the_loggers_that_log_paths() -> None:
    from django.conf import settings

    loggers = settings.LOGGING["loggers"]
    assert "redact_urls" in loggers["django.request"]["filters"]
    assert "redact_urls" in settings.LOGGING["handlers"]["console"]["filters"]


class TestNginxLog:
    template = (stack.ROOT / "deploy" / "nginx" / "simcoach.conf.template").read_text()

    def nginx_map(self, uri: str) -> str:
        """Apply the template's `map $uri $simcoach_log_path` as nginx would (PCRE named groups
        are Python's (?P<name>...))."""
        block = re.search(r"map \$uri \$simcoach_log_path \{(.*?)\n\}", self.template, re.S)
        assert block is not None, "the log path map is missing"
        rule = re.search(r'"~(.+?)"\s+"(.+?)";', block[1])
        assert rule is not None
        pattern = re.compile(rule[1].replace("(?<", "(?P<"))
        found = pattern.match(uri)
        if found is None:
            return uri
        return re.sub(r"\$\{(\w+)\}", lambda m: found[m[1]], rule[2])

    @pytest.mark.parametrize(("url", "logged"), [c for c in CASES if "?" not in c[0]])
    def test_the_map_redacts_like_the_app(self, url: str, logged: str) -> None:
        assert self.nginx_map(url) == logged

    def test_every_server_logs_with_the_redacting_format(self) -> None:
        fmt = re.search(r"log_format simcoach (.*?);", self.template, re.S)
        assert fmt is not None
        assert "$simcoach_log_path" in fmt[1]
        for leaky in ("$request ", "$request_uri", "$args", "$query_string", "$http_referer", '$request"'):
            assert leaky not in fmt[1], leaky
        servers = self.template.split("server {")[1:]
        assert len(servers) == 2
        for server in servers:
            assert "access_log /var/log/nginx/access.log simcoach;" in server

    def test_the_proxy_appends_the_client_for_trusted_proxy_count(self) -> None:
        assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in self.template
        web = stack.compose()["services"]["web"]
        assert str(web["environment"]["TRUSTED_PROXY_COUNT"]) == "1"
        assert "--proxy-headers" not in web["command"] and "simcoach_site.serve" in web["command"]
        assert "--proxy-headers" not in (stack.ROOT / "Dockerfile").read_text().split("CMD", 1)[1]
