from django.urls import path

from . import views

urlpatterns = [
    path("live/", views.live, name="live"),
    path("sessions/<int:session_id>/live/", views.session_live, name="session-live"),
]
