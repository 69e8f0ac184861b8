"""Background work of the partner API."""

from __future__ import annotations

from celery import shared_task

from apps.api.services import transfer_settle


@shared_task(time_limit=60, soft_time_limit=50, acks_late=True)
def transfer_settle_task(transfer_id: str) -> str:
    """Settle one queued transfer through the simulated ACH rail (idempotent)."""
    return transfer_settle(transfer_id=transfer_id).status
