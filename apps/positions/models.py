"""Positions, the double-entry ledger and the cash balances materialized from it.

The ledger holds quantities of assets (a currency code or an instrument symbol) in ledger
accounts. A journal moves assets between ledger accounts and must balance per asset: the database
refuses to commit one that does not (a deferred constraint trigger, see the migration), and
postings can never be updated or deleted. Positions and cash balances are materialized from
postings in the same transaction; a reconciliation proves they agree.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q

from apps.clients.models import Account
from apps.common.decimals import (
    MONEY_DIGITS,
    MONEY_PLACES,
    PRICE_DIGITS,
    PRICE_PLACES,
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
    plain,
)
from apps.instruments.models import Instrument
from apps.positions.choices import JournalKind, LedgerAccountKind


class LedgerAccount(models.Model):
    """A bucket of value: a client's settled cash, the firm's commission revenue, the bank rail."""

    code = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=30, choices=LedgerAccountKind.choices)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__startswith="client_", account__isnull=False)
                | ~Q(kind__startswith="client_") & Q(account__isnull=True),
                name="ledger_account_owner_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["account", "kind"],
                condition=Q(account__isnull=False),
                name="one_ledger_account_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Journal(models.Model):
    """One movement of value: balanced postings that commit together or not at all.

    ``reference`` is the idempotency key of the business event that caused it (an engine trade,
    a transfer id), so the same event can never be booked twice.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=JournalKind.choices)
    reference = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        # A constraint, not unique=True: no second (LIKE-pattern) index on every insert.
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="one_journal_per_reference")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


class Posting(models.Model):
    """One leg of a journal: ``amount`` of ``asset`` into (positive) or out of (negative) a ledger
    account."""

    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="postings")
    ledger_account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="postings", db_index=False
    )  # the (ledger_account, asset) index leads with it
    asset = models.CharField(max_length=40, help_text="Currency code or instrument symbol")
    amount = models.DecimalField(max_digits=MONEY_DIGITS + 4, decimal_places=QUANTITY_PLACES)

    class Meta:
        indexes = [models.Index(fields=["ledger_account", "asset"])]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="posting_amount_not_zero")
        ]

    def __str__(self) -> str:
        return f"{self.ledger_account} {plain(self.amount)} {self.asset}"


class CashBalance(models.Model):
    """An account's cash in one currency, materialized from its cash ledger accounts.

    ``reserved`` is buying power held by open buy orders; it is not a ledger movement.
    """

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="cash_balances", db_index=False
    )  # the unique (account, currency) constraint indexes it
    currency = models.CharField(max_length=3)
    settled = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=Decimal(0)
    )
    unsettled = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=Decimal(0)
    )
    reserved = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=Decimal(0)
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "currency"], name="one_cash_balance_per_currency"
            ),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="cash_reserved_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.currency} {plain(self.total)}"

    @property
    def total(self) -> Decimal:
        return self.settled + self.unsettled


class Position(models.Model):
    """An account's holding in one instrument: signed quantity (short is negative), average cost
    of the open quantity, and the P&L realized by closing trades."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="positions", db_index=False
    )  # the unique (account, instrument) constraint indexes it
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="positions")
    quantity = models.DecimalField(
        max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, default=Decimal(0)
    )
    average_cost = models.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, default=Decimal(0)
    )
    realized_pnl = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=Decimal(0)
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "instrument"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "instrument"], name="one_position_per_instrument"
            ),
            models.CheckConstraint(
                condition=Q(average_cost__gte=0), name="position_average_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.instrument} {plain(self.quantity)}"
