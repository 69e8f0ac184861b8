from celery import shared_task
from django.utils import timezone

from apps.settlement.services import settle_due


@shared_task(time_limit=600, soft_time_limit=540)
def settle_due_executions() -> int:
    """Beat runs this every few minutes; settling is idempotent, so a rerun is harmless."""
    return len(settle_due(as_of=timezone.now().date()))
