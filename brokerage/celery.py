"""The Celery application: settlement, margin, risk and regulatory jobs run here."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")

app = Celery("brokerage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
