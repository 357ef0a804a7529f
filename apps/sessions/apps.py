from django.apps import AppConfig


class RacingSessionsConfig(AppConfig):
    name = "apps.sessions"
    # django.contrib.sessions already owns the label "sessions".
    label = "racing_sessions"
    verbose_name = "Racing sessions"
