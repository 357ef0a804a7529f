from django.apps import AppConfig


class RacingSessionsConfig(AppConfig):
    name = "apps.sessions"
    # django.contrib.sessions already owns the label "sessions".
    label = "racing_sessions"
    verbose_name = "Racing sessions"

    def ready(self) -> None:
        # Upload temp files a killed process left behind (see uploads.py): once per start.
        from .uploads import upload_temp_sweep

        upload_temp_sweep()
