from celery import shared_task

from apps.orders.services import orders_resend_stale


@shared_task(time_limit=30, soft_time_limit=25)
def resend_stale_pending_orders() -> int:
    """The sweeper: orders still pending_new a few seconds after entry are published again (the
    engine drops the copy if the first one arrived)."""
    return orders_resend_stale()
