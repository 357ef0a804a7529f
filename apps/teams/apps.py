from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "apps.teams"
    label = "teams"

    def ready(self) -> None:
        # Sessions sits below teams and cannot import it: its access helpers ask these hooks.
        from simcoach_site import events

        from .selectors import live_reference_lap_id, shared_session_ids
        from .services import session_best_lap_stored

        events.lap_stored.connect(session_best_lap_stored)
        events.shared_sessions_provide(shared_session_ids)
        events.live_reference_provide(live_reference_lap_id)
