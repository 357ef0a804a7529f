from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "apps.teams"
    label = "teams"

    def ready(self) -> None:
        # Sessions sits below teams and cannot import it: it asks these hooks. Which sessions
        # a user may read is answered by sharing's access decision (SharingConfig.ready).
        from simcoach_site import events

        from .selectors import live_reference_lap_id
        from .services import session_best_lap_stored

        events.lap_stored.connect(session_best_lap_stored)
        events.live_reference_provide(live_reference_lap_id)
