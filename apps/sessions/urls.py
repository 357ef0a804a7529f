from django.urls import path

from . import apis, views, views_import
from .downloads import FORMATS

urlpatterns = [
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/<int:session_id>/", views.session_detail, name="session-detail"),
    path("laps/<int:lap_id>/", views.lap_detail, name="lap-detail"),
    *[
        path(
            f"sessions/<int:session_id>/export.{fmt}",
            views.session_export,
            {"fmt": fmt},
            f"session-export-{fmt}",
        )
        for fmt in FORMATS
    ],
    *[
        path(f"laps/<int:lap_id>/export.{fmt}", views.lap_export, {"fmt": fmt}, f"lap-export-{fmt}")
        for fmt in FORMATS
    ],
    path("laps/<int:lap_id>/reference/", views.lap_reference_toggle, name="lap-reference"),
    path("compare/", views.lap_compare_page, name="compare"),
    path("api/sessions/", apis.SessionListApi.as_view(), name="api-sessions"),
    path("api/sessions/<int:session_id>/", apis.SessionDetailApi.as_view(), name="api-session"),
    path("api/laps/<int:lap_id>/", apis.LapDetailApi.as_view(), name="api-lap"),
    *[
        path(
            f"api/sessions/<int:session_id>/export.{fmt}",
            apis.SessionExportApi.as_view(fmt=fmt),
            name=f"api-session-export-{fmt}",
        )
        for fmt in FORMATS
    ],
    *[
        path(
            f"api/laps/<int:lap_id>/export.{fmt}",
            apis.LapExportApi.as_view(fmt=fmt),
            name=f"api-lap-export-{fmt}",
        )
        for fmt in FORMATS
    ],
    path("api/laps/<int:lap_id>/channels/", apis.LapChannelsApi.as_view(), name="api-lap-channels"),
    path("api/compare/", apis.LapCompareApi.as_view(), name="api-compare"),
    path("import/", views_import.import_page, name="import"),
    path("api/imports/", views_import.ImportCreateApi.as_view(), name="api-imports"),
    path("api/imports/<int:import_id>/", views_import.ImportDetailApi.as_view(), name="api-import"),
    path("api/imports/<int:import_id>/chunk", views_import.ImportChunkApi.as_view(), name="api-import-chunk"),
]
