from django.apps import AppConfig


class CoachingConfig(AppConfig):
    name = "apps.coaching"
    label = "coaching"

    def ready(self) -> None:
        # Sessions sits below coaching and cannot import it: coaching listens instead.
        from simcoach_site import events

        from .selectors import session_ids_report_ready
        from .tasks import lap_stored_analyse, session_closed_report

        events.lap_stored.connect(lap_stored_analyse)
        events.session_closed.connect(session_closed_report)
        events.ready_reports_provide(session_ids_report_ready)
