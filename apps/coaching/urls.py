from django.urls import path

from . import apis, views

urlpatterns = [
    path("sessions/<int:session_id>/report/", views.session_report_view, name="session-report"),
    path(
        "api/sessions/<int:session_id>/report/",
        apis.SessionReportLatestApi.as_view(),
        name="api-session-report",
    ),
]
