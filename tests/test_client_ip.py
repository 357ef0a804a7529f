"""client_ip(): the address per-IP limits key on, from the socket peer or the trusted end of
X-Forwarded-For, for Django requests, DRF requests and ASGI scopes alike."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from rest_framework.request import Request

from simcoach_site.lib.client import UNKNOWN, client_ip, forwarded_client, ip_bucket

NGINX = "172.18.0.5"  # the proxy's address, what Daphne sees as the peer behind compose


class TestForwardedClient:
    def test_it_uses_the_peer_when_no_proxy_is_trusted(self) -> None:
        assert forwarded_client(peer="203.0.113.9", forwarded="1.2.3.4", trusted=0) == "203.0.113.9"

    def test_it_takes_the_last_hop_behind_one_proxy(self) -> None:
        # nginx appended 203.0.113.9; "1.2.3.4" is what the client wrote itself.
        got = forwarded_client(peer=NGINX, forwarded="1.2.3.4, 203.0.113.9", trusted=1)
        assert got == "203.0.113.9"

    def test_it_takes_the_nth_hop_from_the_right_behind_n_proxies(self) -> None:
        got = forwarded_client(peer=NGINX, forwarded="6.6.6.6, 198.51.100.7, 10.0.0.2", trusted=2)
        assert got == "198.51.100.7"

    def test_it_falls_back_to_the_peer_when_hops_are_missing(self) -> None:
        # Someone reached Daphne directly, around the proxy: their own header proves nothing.
        assert forwarded_client(peer="192.0.2.1", forwarded="", trusted=1) == "192.0.2.1"
        assert forwarded_client(peer="192.0.2.1", forwarded="9.9.9.9", trusted=2) == "192.0.2.1"

    def test_it_falls_back_to_the_peer_when_the_trusted_hop_is_garbage(self) -> None:
        assert forwarded_client(peer=NGINX, forwarded="1.2.3.4, not-an-ip", trusted=1) == NGINX

    def test_it_normalises_ports_and_brackets(self) -> None:
        assert forwarded_client(peer=NGINX, forwarded="1.2.3.4:5555", trusted=1) == "1.2.3.4"
        assert forwarded_client(peer=NGINX, forwarded="[2001:db8::1]:443", trusted=1) == "2001:db8::1"
        assert forwarded_client(peer=NGINX, forwarded="2001:DB8:0::1", trusted=1) == "2001:db8::1"

    def test_it_says_unknown_without_any_address(self) -> None:
        assert forwarded_client(peer="", forwarded="", trusted=0) == UNKNOWN


class TestIpBucket:
    def test_it_counts_ipv4_addresses_one_by_one(self) -> None:
        assert ip_bucket("203.0.113.9") == "203.0.113.9"

    def test_it_counts_an_ipv6_slash_64_as_one(self) -> None:
        assert ip_bucket("2001:db8:1:2:aaaa::1") == ip_bucket("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
        assert ip_bucket("2001:db8:1:3::1") != ip_bucket("2001:db8:1:2::1")


class TestClientIp:
    @pytest.fixture(autouse=True)
    def _one_proxy(self, settings) -> None:  # type: ignore[no-untyped-def]
        settings.TRUSTED_PROXY_COUNT = 1

    def test_it_reads_a_django_request(self) -> None:
        request = RequestFactory().get("/", REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
        assert client_ip(request) == "203.0.113.9"

    def test_it_reads_a_drf_request(self) -> None:
        request = RequestFactory().post("/", REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
        assert client_ip(Request(request)) == "203.0.113.9"

    def test_it_reads_a_websocket_scope_with_repeated_headers(self) -> None:
        # Two X-Forwarded-For headers count as one list, in order (RFC 9110 §5.3).
        scope = {
            "type": "websocket",
            "client": (NGINX, 40000),
            "headers": [(b"x-forwarded-for", b"6.6.6.6"), (b"X-Forwarded-For", b"203.0.113.9")],
        }
        assert client_ip(scope) == "203.0.113.9"

    def test_it_uses_the_peer_of_a_scope_without_a_client(self, settings) -> None:  # type: ignore[no-untyped-def]
        settings.TRUSTED_PROXY_COUNT = 0
        assert client_ip({"type": "websocket", "headers": []}) == UNKNOWN
