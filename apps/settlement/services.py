"""Settling executions on their settlement date (T+1 equities, T+0 crypto: see
apps.instruments.calendar)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from apps.orders.choices import Side
from apps.orders.models import Execution
from apps.positions.choices import JournalKind, LedgerAccountKind
from apps.positions.models import CashBalance
from apps.positions.services import Leg, client_ledger_account, ledger_post
from apps.settlement.models import Settlement


def execution_cash(execution: Execution) -> Decimal:
    """The cash an execution moved for its account: what the trade journal posted."""
    notional = execution.price * execution.quantity * execution.instrument.multiplier
    sign = -1 if execution.side == Side.BUY else 1
    return sign * notional - execution.commission - execution.regulatory_fees


def settle_due(*, as_of: dt.date) -> list[Settlement]:
    """Net and settle every (account, currency, date) whose executions are due by ``as_of`` and
    that has not settled yet. Idempotent: each group settles in its own transaction, once."""
    due = (
        Execution.objects.filter(settle_date__lte=as_of, executed_at__date__lt=F("settle_date"))
        .exclude(account__settlements__settle_date=F("settle_date"))
        .select_related("instrument", "account")
    )
    groups: dict[tuple, list[Execution]] = defaultdict(list)
    for execution in due:
        groups[(execution.account, execution.instrument.currency, execution.settle_date)].append(
            execution
        )
    return [
        settle_group(account=a, currency=c, settle_date=d, executions=e)
        for (a, c, d), e in groups.items()
    ]


def settle_group(
    *, account, currency: str, settle_date: dt.date, executions: list[Execution]
) -> Settlement:
    with transaction.atomic():
        existing = Settlement.objects.filter(
            account=account, currency=currency, settle_date=settle_date
        ).first()
        if existing is not None:
            return existing
        net = sum((execution_cash(e) for e in executions), Decimal(0))
        journal = None
        if net:
            journal, _ = ledger_post(
                kind=JournalKind.SETTLEMENT,
                reference=f"settle:{account.pk}:{currency}:{settle_date.isoformat()}",
                description=f"Settlement of {len(executions)} executions on {settle_date}",
                legs=[
                    Leg(
                        client_ledger_account(account, LedgerAccountKind.CLIENT_CASH_UNSETTLED),
                        currency,
                        -net,
                    ),
                    Leg(
                        client_ledger_account(account, LedgerAccountKind.CLIENT_CASH), currency, net
                    ),
                ],
            )
        CashBalance.objects.get_or_create(account=account, currency=currency)
        return Settlement.objects.create(
            account=account,
            currency=currency,
            settle_date=settle_date,
            net_amount=net,
            execution_count=len(executions),
            journal=journal,
        )
