from django.apps import AppConfig


class CoachingConfig(AppConfig):
    name = "apps.coaching"
    label = "coaching"
