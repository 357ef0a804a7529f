from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from simcoach_site.status import status_view

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
    path("admin/", admin.site.urls),
]
