from django.conf import settings
from django.http import HttpRequest

from apps.accounts.selectors import units_for_request


def site(request: HttpRequest) -> dict[str, object]:
    """Values every template needs (the path prefix for socket URLs built in JS, whether to
    offer sign-up, the viewer's display units; a share page overrides `units` with the
    owner's fallback)."""
    return {
        "URL_PREFIX": settings.URL_PREFIX,
        "TRACE_STORE": settings.TRACE_STORE,
        "SIGNUP": settings.SIGNUP,
        "units": units_for_request(request),
    }
