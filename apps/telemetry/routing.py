from django.urls import path, re_path

from . import consumers

rig_urlpatterns = [path("ws/rig/", consumers.RigTelemetryConsumer.as_asgi())]
viewer_urlpatterns = [
    path("ws/live/", consumers.SessionLiveConsumer.as_asgi()),
    path("ws/live/<int:session_id>/", consumers.SessionLiveConsumer.as_asgi()),
    path("ws/live/rig/<int:rig_id>/", consumers.SessionLiveConsumer.as_asgi()),
    # Share viewers need no account, but they are browser sockets all the same (Origin checked).
    path("ws/share/<str:token>/", consumers.ShareViewerConsumer.as_asgi()),
    path("ws/coached/<int:coached_driver_id>/", consumers.ShareViewerConsumer.as_asgi()),
    # A coach of a team the driver shares with: access by team role, re-checked on every change.
    path("ws/coached/team/<int:team_id>/<int:driver_id>/", consumers.ShareViewerConsumer.as_asgi()),
    re_path(r"", consumers.UnknownSocketConsumer.as_asgi()),  # last: every other path
]
