"""Security headers on every page: a Content-Security-Policy and a Permissions-Policy.

Django 5.2 has no CSP of its own (6.0 adds one). Pages carry no inline script, style attribute or
event handler (every script is a static file), so the policy needs no 'unsafe-inline' and no
nonce: an injected <script> or onerror= does not run.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

SITE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # uPlot and the browser's own form icons use data: images
        "font-src 'self'",
        "connect-src 'self'",  # fetch() and the live sockets: 'self' covers ws(s):// on this host
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Sensors, camera, payments: nothing here uses them, and no embedded page should either.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "browsing-topics",
    )
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The API docs too: Swagger UI is served from our static files with no inline script.
        response.headers.setdefault("Content-Security-Policy", SITE_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
