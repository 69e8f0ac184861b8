"""Reads of orders and executions."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from apps.clients.models import Account
from apps.orders.choices import FINAL_STATUSES, OPEN_STATUSES
from apps.orders.models import Execution, Order


def orders_for_account(
    *,
    account: Account,
    status: str = "open",
    limit: int | None = 50,
    after: dt.datetime | None = None,
    until: dt.datetime | None = None,
    direction: str = "desc",
    symbols: list[str] | None = None,
    side: str | None = None,
    asset_classes: list[str] | None = None,
) -> QuerySet[Order]:
    """The account's orders, filtered the way Alpaca's GET /v2/orders filters them."""
    orders = Order.objects.filter(account=account).select_related(
        "instrument", "replaces", "replaced_by"
    )
    if status == "open":
        orders = orders.filter(status__in=OPEN_STATUSES)
    elif status == "closed":
        orders = orders.filter(status__in=FINAL_STATUSES)
    if after is not None:
        orders = orders.filter(submitted_at__gt=after)
    if until is not None:
        orders = orders.filter(submitted_at__lt=until)
    if symbols:
        orders = orders.filter(instrument__symbol__in=symbols)
    if side:
        orders = orders.filter(side=side)
    if asset_classes is not None:
        orders = orders.filter(instrument__asset_class__in=asset_classes)
    orders = orders.order_by("created_at" if direction == "asc" else "-created_at")
    return orders[:limit] if limit else orders


def executions_for_account(*, account: Account, limit: int = 100) -> QuerySet[Execution]:
    return (
        Execution.objects.filter(account=account)
        .select_related("instrument", "order")
        .order_by("-executed_at")[:limit]
    )
