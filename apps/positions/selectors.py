"""Reads of positions, balances and the ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Sum

from apps.clients.models import Account
from apps.positions.choices import LedgerAccountKind as K
from apps.positions.models import CashBalance, Position, Posting


def account_overview(*, account: Account) -> dict[str, Any]:
    """Cash balances and open positions of one account, for its page."""
    return {
        "cash_balances": list(CashBalance.objects.filter(account=account).order_by("currency")),
        "positions": list(
            Position.objects.filter(account=account)
            .exclude(quantity=0)
            .select_related("instrument")
        ),
    }


def ledger_balance(*, ledger_account_id: int, asset: str) -> Decimal:
    total = Posting.objects.filter(ledger_account_id=ledger_account_id, asset=asset).aggregate(
        s=Sum("amount")
    )["s"]
    return total or Decimal(0)


def ledger_reconciliation() -> list[str]:
    """Differences between the materialized balances/positions and the sums of their postings.

    An empty list proves the ledger and what the platform shows agree.
    """
    problems: list[str] = []
    expected_cash: dict[tuple, dict[str, Decimal]] = {}
    expected_qty: dict[tuple, Decimal] = {}
    rows = (
        Posting.objects.filter(ledger_account__account__isnull=False)
        .values("ledger_account__account_id", "ledger_account__kind", "asset")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        key = (row["ledger_account__account_id"], row["asset"])
        kind = row["ledger_account__kind"]
        if kind == K.CLIENT_SECURITIES:
            expected_qty[key] = row["total"]
        else:
            field = "settled" if kind == K.CLIENT_CASH else "unsettled"
            expected_cash.setdefault(key, {"settled": Decimal(0), "unsettled": Decimal(0)})[
                field
            ] = row["total"]
    for balance in CashBalance.objects.all():
        expected = expected_cash.pop(
            (balance.account_id, balance.currency), {"settled": 0, "unsettled": 0}
        )
        for field in ("settled", "unsettled"):
            if getattr(balance, field) != expected[field]:
                problems.append(
                    f"cash {balance.account_id} {balance.currency} {field}: "
                    f"{getattr(balance, field)} != ledger {expected[field]}"
                )
    for key, expected in expected_cash.items():
        if any(expected.values()):
            problems.append(f"cash {key} has postings but no balance row")
    for position in Position.objects.select_related("instrument"):
        expected = expected_qty.pop((position.account_id, position.instrument.symbol), Decimal(0))
        if position.quantity != expected:
            problems.append(
                f"position {position.account_id} {position.instrument.symbol}: "
                f"{position.quantity} != ledger {expected}"
            )
    for key, expected in expected_qty.items():
        if expected:
            problems.append(f"position {key} has postings but no position row")
    unbalanced = Posting.objects.values("asset").annotate(total=Sum("amount")).exclude(total=0)
    problems.extend(
        f"asset {row['asset']} does not net to zero: {row['total']}" for row in unbalanced
    )
    return problems
