from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """Values every template needs (the path prefix for socket URLs built in JS, whether to
    offer sign-up)."""
    return {"URL_PREFIX": settings.URL_PREFIX, "TRACE_STORE": settings.TRACE_STORE, "SIGNUP": settings.SIGNUP}
