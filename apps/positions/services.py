"""Ledger writes. Every movement of cash or securities is one balanced journal; the cash balances
and position quantities it touches are updated in the same transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from apps.clients.models import Account
from apps.common.errors import ValidationFailed
from apps.instruments.models import Instrument
from apps.positions.choices import JournalKind, LedgerAccountKind
from apps.positions.models import CashBalance, Journal, LedgerAccount, Position, Posting

K = LedgerAccountKind


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of a movement: ``amount`` of ``asset`` into (+) or out of (-) a ledger account."""

    ledger_account: LedgerAccount
    asset: str
    amount: Decimal


def client_ledger_account(account: Account, kind: str) -> LedgerAccount:
    ledger, _ = LedgerAccount.objects.get_or_create(
        account=account, kind=kind, defaults={"code": f"{account.number}:{kind}"}
    )
    return ledger


def firm_ledger_account(kind: str) -> LedgerAccount:
    ledger, _ = LedgerAccount.objects.get_or_create(code=f"firm:{kind}", defaults={"kind": kind})
    return ledger


def _materialize(leg: Leg, instruments_by_symbol: dict[str, Instrument]) -> None:
    """Apply one client leg to the balance or position it feeds (F() updates: no lost update)."""
    ledger = leg.ledger_account
    if ledger.kind in (K.CLIENT_CASH, K.CLIENT_CASH_UNSETTLED):
        field = "settled" if ledger.kind == K.CLIENT_CASH else "unsettled"
        balance, _ = CashBalance.objects.get_or_create(
            account_id=ledger.account_id, currency=leg.asset
        )
        CashBalance.objects.filter(pk=balance.pk).update(**{field: F(field) + leg.amount})
    elif ledger.kind == K.CLIENT_SECURITIES:
        instrument = instruments_by_symbol[leg.asset]
        position, _ = Position.objects.get_or_create(
            account_id=ledger.account_id, instrument=instrument
        )
        Position.objects.filter(pk=position.pk).update(quantity=F("quantity") + leg.amount)


@transaction.atomic
def ledger_post(
    *, kind: str, reference: str, legs: list[Leg], description: str = ""
) -> tuple[Journal, bool]:
    """Book ``legs`` as one journal, idempotently by ``reference``.

    Returns (journal, created). A reference already booked returns the existing journal and
    changes nothing, so a retried business event never moves value twice.
    """
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for leg in legs:
        if leg.amount == 0:
            raise ValidationFailed("zero_posting", "A posting must move a non-zero amount.")
        totals[leg.asset] += leg.amount
    unbalanced = {asset: total for asset, total in totals.items() if total != 0}
    if unbalanced:
        raise ValidationFailed("unbalanced_journal", f"Journal does not balance: {unbalanced}")
    journal, created = Journal.objects.get_or_create(
        reference=reference, defaults={"kind": kind, "description": description}
    )
    if not created:
        return journal, False
    Posting.objects.bulk_create(
        Posting(
            journal=journal, ledger_account=leg.ledger_account, asset=leg.asset, amount=leg.amount
        )
        for leg in legs
    )
    security_symbols = {leg.asset for leg in legs if leg.ledger_account.kind == K.CLIENT_SECURITIES}
    instruments = {i.symbol: i for i in Instrument.objects.filter(symbol__in=security_symbols)}
    for leg in legs:
        _materialize(leg, instruments)
    return journal, True


def cash_deposit(
    *, account: Account, amount: Decimal, reference: str, currency: str = "USD"
) -> Journal:
    """Cash arriving from the bank rail, settled on arrival."""
    if amount <= 0:
        raise ValidationFailed("invalid_amount", "A deposit must be positive.", field="amount")
    journal, _ = ledger_post(
        kind=JournalKind.DEPOSIT,
        reference=reference,
        description=f"Deposit to {account.number}",
        legs=[
            Leg(firm_ledger_account(K.BANK), currency, -amount),
            Leg(client_ledger_account(account, K.CLIENT_CASH), currency, amount),
        ],
    )
    return journal


@transaction.atomic
def securities_transfer_in(
    *,
    account: Account,
    instrument: Instrument,
    quantity: Decimal,
    cost_basis: Decimal,
    reference: str,
) -> Journal:
    """Securities delivered in from outside (an ACATS transfer, a market maker's inventory),
    received from the clearing house's custody at the given cost basis per unit."""
    if quantity <= 0:
        raise ValidationFailed("invalid_quantity", "A transfer must be positive.", field="qty")
    journal, created = ledger_post(
        kind=JournalKind.OPENING_BALANCE,
        reference=reference,
        description=f"{instrument.symbol} transferred in to {account.number}",
        legs=[
            Leg(firm_ledger_account(K.CLEARING), instrument.symbol, -quantity),
            Leg(client_ledger_account(account, K.CLIENT_SECURITIES), instrument.symbol, quantity),
        ],
    )
    if created:
        # Average cost of the combined holding, weighted by quantity (the new units at cost_basis).
        position = Position.objects.select_for_update().get(account=account, instrument=instrument)
        previous = position.quantity - quantity
        if previous > 0:
            position.average_cost = (
                position.average_cost * previous + cost_basis * quantity
            ) / position.quantity
        else:
            position.average_cost = cost_basis
        position.save(update_fields=["average_cost", "updated_at"])
    return journal


def _lock_cash_balances(accounts: list[Account], currency: str) -> dict:
    """SELECT FOR UPDATE the cash balance rows of ``accounts`` in primary-key order (a fixed
    order, so two transfers between the same accounts in opposite directions cannot deadlock)."""
    for account in accounts:
        CashBalance.objects.get_or_create(account=account, currency=currency)
    balances = CashBalance.objects.select_for_update().filter(
        account__in=accounts, currency=currency
    )
    return {balance.account_id: balance for balance in balances.order_by("pk")}


def _check_available_cash(balance: CashBalance, amount: Decimal) -> None:
    available = balance.settled - balance.reserved
    if amount > available:
        raise ValidationFailed(
            "insufficient_cash",
            f"Only {available} {balance.currency} of settled cash is available.",
            field="amount",
        )


@transaction.atomic
def cash_withdrawal(
    *, account: Account, amount: Decimal, reference: str, currency: str = "USD"
) -> Journal:
    """Cash leaving to the bank rail, out of settled cash not reserved for open orders.

    Takes a SELECT FOR UPDATE lock on the account's cash balance row, so two withdrawals (or a
    withdrawal and an order reservation that also locks it) cannot both spend the same cash.
    A reference already booked returns its journal unchanged.
    """
    if amount <= 0:
        raise ValidationFailed("invalid_amount", "A withdrawal must be positive.", field="amount")
    booked = Journal.objects.filter(reference=reference).first()
    if booked is not None:
        return booked
    balance = _lock_cash_balances([account], currency)[account.pk]
    _check_available_cash(balance, amount)
    journal, _ = ledger_post(
        kind=JournalKind.WITHDRAWAL,
        reference=reference,
        description=f"Withdrawal from {account.number}",
        legs=[
            Leg(client_ledger_account(account, K.CLIENT_CASH), currency, -amount),
            Leg(firm_ledger_account(K.BANK), currency, amount),
        ],
    )
    return journal


@transaction.atomic
def cash_journal(
    *,
    from_account: Account,
    to_account: Account,
    amount: Decimal,
    reference: str,
    currency: str = "USD",
    description: str = "",
) -> Journal:
    """Settled cash from one client account to another (a JNLC), out of cash not reserved.

    Locks both cash balance rows in primary-key order (see ``_lock_cash_balances``).
    A reference already booked returns its journal unchanged.
    """
    if amount <= 0:
        raise ValidationFailed("invalid_amount", "A journal must be positive.", field="amount")
    if from_account.pk == to_account.pk:
        raise ValidationFailed("same_account", "A journal needs two different accounts.")
    booked = Journal.objects.filter(reference=reference).first()
    if booked is not None:
        return booked
    balances = _lock_cash_balances([from_account, to_account], currency)
    _check_available_cash(balances[from_account.pk], amount)
    journal, _ = ledger_post(
        kind=JournalKind.JOURNAL,
        reference=reference,
        description=description or f"Journal {from_account.number} -> {to_account.number}",
        legs=[
            Leg(client_ledger_account(from_account, K.CLIENT_CASH), currency, -amount),
            Leg(client_ledger_account(to_account, K.CLIENT_CASH), currency, amount),
        ],
    )
    return journal
