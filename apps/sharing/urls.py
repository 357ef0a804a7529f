from django.urls import path

from . import views

urlpatterns = [
    path("sharing/", views.sharing, name="sharing"),
    path("sharing/<int:link_id>/revoke/", views.share_revoke_view, name="share-revoke"),
    path("s/<str:token>/", views.share_view, name="share"),
    path("s/<str:token>/live/", views.share_live_view, name="share-live"),
    path("coaching/drivers/", views.coached_drivers, name="coached-drivers"),
    path("coaching/drivers/<int:coached_driver_id>/", views.coached_driver_live, name="coached-driver-live"),
    # A session a team mate shared with the team (the page lives here: access decides it).
    path("teams/<int:team_id>/sessions/<int:session_id>/", views.team_session, name="team-session"),
    path("coaching/teams/<int:team_id>/drivers/<int:driver_id>/", views.team_driver, name="team-driver"),
    path(
        "coaching/teams/<int:team_id>/drivers/<int:driver_id>/live/",
        views.team_driver_live,
        name="team-driver-live",
    ),
    path(
        "coaching/drivers/<int:coached_driver_id>/remove/",
        views.coached_driver_remove_view,
        name="coached-driver-remove",
    ),
]
