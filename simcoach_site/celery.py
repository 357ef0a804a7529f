"""The Celery app; with no broker configured tasks run eagerly in-process (settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simcoach_site.settings")

app = Celery("simcoach")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
