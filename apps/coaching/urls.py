from django.urls import path

from . import apis, views

urlpatterns = [
    path("progress/", views.progress_view, name="progress"),
    path("progress/focus/<int:focus_id>/close/", views.focus_close_view, name="focus-close"),
    path("api/progress/", apis.ProgressApi.as_view(), name="api-progress"),
    path("sessions/<int:session_id>/report/", views.session_report_view, name="session-report"),
    path(
        "api/sessions/<int:session_id>/report/",
        apis.SessionReportLatestApi.as_view(),
        name="api-session-report",
    ),
    path("api/sessions/<int:session_id>/cues/", apis.SessionCueListApi.as_view(), name="api-session-cues"),
    path(
        "api/sessions/<int:session_id>/cues/<int:cue_id>/",
        apis.SessionCueApi.as_view(),
        name="api-session-cue",
    ),
]
