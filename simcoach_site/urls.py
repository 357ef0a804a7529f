import re

from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.urls import include, path, re_path, reverse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from simcoach_site.status import status_view

# Models that moved to another app (issue 19) keep their old admin addresses, as redirects.
MOVED_ADMIN = {
    "telemetry/tracechunk": "traces/tracechunk",
    "accounts/sharelink": "sharing/sharelink",
    "accounts/coacheddriver": "sharing/coacheddriver",
    "accounts/coachnote": "sharing/coachnote",
}


def moved_admin_page(request: HttpRequest, old: str, rest: str) -> HttpResponsePermanentRedirect:
    target = f"{reverse('admin:index')}{MOVED_ADMIN[old]}/{rest}"
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(f"{target}?{query}" if query else target)


moved_admin = [
    re_path(rf"^(?P<old>{'|'.join(map(re.escape, MOVED_ADMIN))})/(?P<rest>.*)$", moved_admin_page),
]

urlpatterns = [
    path("", include("apps.accounts.urls")),
    path("", include("apps.sessions.urls")),
    path("", include("apps.sharing.urls")),
    path("", include("apps.telemetry.urls")),
    path("", include("apps.coaching.urls")),
    # Monitors and container probes call it with or without the trailing slash.
    path("api/status", status_view, name="api-status"),
    path("api/status/", status_view),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", include(moved_admin)),
    path("admin/", admin.site.urls),
]
