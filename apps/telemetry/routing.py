from django.urls import path

from . import consumers

rig_urlpatterns = [path("ws/rig/", consumers.RigTelemetryConsumer.as_asgi())]
viewer_urlpatterns = [
    path("ws/live/", consumers.SessionLiveConsumer.as_asgi()),
    path("ws/live/<int:session_id>/", consumers.SessionLiveConsumer.as_asgi()),
]
