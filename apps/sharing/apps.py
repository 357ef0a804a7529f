from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "apps.sharing"
    label = "sharing"

    def ready(self) -> None:
        # Sessions sits below sharing and cannot import it: its `shared=True` reads ask this
        # hook, answered by the one access decision (access.py), not by teams on its own.
        from simcoach_site import events

        from .access import readable_session_ids

        events.shared_sessions_provide(readable_session_ids)
