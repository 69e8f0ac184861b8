"""Reads of positions, balances and the ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Sum

from apps.clients.models import Account
from apps.positions.models import CashBalance, Posting, Position


def account_overview(*, account: Account) -> dict[str, Any]:
    """Cash balances and open positions of one account, for its page."""
    return {
        "cash_balances": list(CashBalance.objects.filter(account=account).order_by("currency")),
        "positions": list(
            Position.objects.filter(account=account).exclude(quantity=0).select_related("instrument")
        ),
    }


def ledger_balance(*, ledger_account_id: int, asset: str) -> Decimal:
    total = Posting.objects.filter(ledger_account_id=ledger_account_id, asset=asset).aggregate(s=Sum("amount"))["s"]
    return total or Decimal(0)
