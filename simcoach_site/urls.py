import re

from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path, reverse
from django.utils.functional import lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.accounts.views import admin_login
from simcoach_site.api_root import ApiRootApi
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
    path("", include("apps.teams.urls")),
    # Monitors and container probes call it with or without the trailing slash.
    path("api/status", status_view, name="api-status"),
    path("api/status/", status_view),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Before admin.site.urls, so the admin's own (unlimited) login view is never reached.
    path("admin/login/", admin_login),
    path("api/", ApiRootApi.as_view(), name="api-root"),
    # The split view serves its start-up script as a file: no inline script for a CSP to refuse.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Browsers ask for /favicon.ico whatever the page links; answer instead of logging a 404.
    # Lazy: the static URL (hashed in production) is looked up when asked, not at import.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.ico"), permanent=True)),
    path("admin/", include(moved_admin)),
    path("admin/", admin.site.urls),
]
