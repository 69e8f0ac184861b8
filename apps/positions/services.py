"""Ledger writes. Every movement of cash or securities is one balanced journal; the cash balances
and position quantities it touches are updated in the same transaction."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from apps.clients.models import Account
from apps.common.bulk import copy_rows, fetch_objects_sent, server_cursor, update_rows
from apps.common.errors import ValidationFailed
from apps.instruments.models import Instrument
from apps.instruments.selectors import instrument_id
from apps.positions.choices import JournalKind, LedgerAccountKind
from apps.positions.models import CashBalance, Journal, LedgerAccount, Position, Posting

K = LedgerAccountKind
KeyT = TypeVar("KeyT")
RowT = TypeVar("RowT")


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of a movement: ``amount`` of ``asset`` into (+) or out of (-) a ledger account.
    A securities leg whose writer knows the instrument says so (``instrument_id``): its position
    is found without looking the symbol up."""

    ledger_account: LedgerAccount
    asset: str
    amount: Decimal
    instrument_id: int | None = None


def client_ledger_account(account: Account, kind: str) -> LedgerAccount:
    ledger, _ = LedgerAccount.objects.get_or_create(
        account=account, kind=kind, defaults={"code": f"{account.number}:{kind}"}
    )
    return ledger


def firm_ledger_account(kind: str) -> LedgerAccount:
    ledger, _ = LedgerAccount.objects.get_or_create(code=f"firm:{kind}", defaults={"kind": kind})
    return ledger


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A journal to book: its idempotency ``reference`` and balanced ``legs``."""

    kind: str
    reference: str
    legs: list[Leg]
    description: str = ""


def _check_balanced(entry: JournalEntry) -> None:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for leg in entry.legs:
        if leg.amount == 0:
            raise ValidationFailed("zero_posting", "A posting must move a non-zero amount.")
        totals[leg.asset] += leg.amount
    unbalanced = {asset: total for asset, total in totals.items() if total != 0}
    if unbalanced:
        raise ValidationFailed(
            "unbalanced_journal", f"Journal {entry.reference} does not balance: {unbalanced}"
        )


def ledger_accounts_of(account_ids: Iterable[Any]) -> dict[tuple[Any, str], LedgerAccount]:
    """The ledger accounts of these client accounts and all of the firm's, by (account id or
    None, kind), in one query: for a caller about to book many journals."""
    return ledger_accounts_of_sent(account_ids)()


def ledger_accounts_of_sent(
    account_ids: Iterable[Any],
) -> Callable[[], dict[tuple[Any, str], LedgerAccount]]:
    """``ledger_accounts_of``, its statement sent now; calling the result reads them."""
    read = fetch_objects_sent(
        LedgerAccount,
        "WHERE account_id = ANY(%b::uuid[]) OR account_id IS NULL",
        [sorted({str(account_id) for account_id in account_ids})],
    )
    return lambda: {(ledger.account_id, ledger.kind): ledger for ledger in read()}


def post_journals(
    entries: Sequence[JournalEntry], *, into: LockedBalances | None = None
) -> set[str]:
    """Book many journals in a few statements, each idempotently by its reference.

    Returns the references booked now; a reference booked before is skipped and changes
    nothing, so a retried business event never moves value twice. The cash balances and
    position quantities the booked postings feed move in the same transaction: here, or, with
    ``into``, in the caller's locked rows, which the caller writes (``LockedBalances.write``)
    with its own changes to them.

    Refusals come before any write, so a caller's transaction goes on after one. Inside a
    caller's transaction the writes take no savepoint (two round trips a trade batch of the
    applier's): a statement failing here fails the caller's whole transaction.
    """
    for entry in entries:
        _check_balanced(entry)
    if len({entry.reference for entry in entries}) != len(entries):
        raise ValidationFailed("duplicate_reference", "Two journals share a reference.")
    if not entries:
        return set()
    with transaction.atomic(savepoint=False):
        return _book(entries, into)


def _book(entries: Sequence[JournalEntry], into: LockedBalances | None) -> set[str]:
    now = timezone.now()
    with server_cursor() as cursor:
        cursor.execute(
            "INSERT INTO positions_journal (id, kind, reference, description, created_at) "
            "SELECT * FROM unnest(%b::uuid[], %b::varchar[], %b::varchar[], %b::varchar[], "
            "%b::timestamptz[]) ON CONFLICT (reference) DO NOTHING RETURNING id, reference",
            [
                [uuid.uuid4() for _ in entries],
                [entry.kind for entry in entries],
                [entry.reference for entry in entries],
                [entry.description for entry in entries],
                [now] * len(entries),
            ],
        )
        booked = {reference: journal_id for journal_id, reference in cursor.fetchall()}
    legs = [
        (booked[entry.reference], leg)
        for entry in entries
        if entry.reference in booked
        for leg in entry.legs
    ]
    copy_rows(
        Posting._meta.db_table,
        ["journal_id", "ledger_account_id", "asset", "amount"],
        ((journal_id, leg.ledger_account.pk, leg.asset, leg.amount) for journal_id, leg in legs),
    )
    _materialize([leg for _journal_id, leg in legs], into)
    return set(booked)


def _materialize(legs: list[Leg], into: LockedBalances | None) -> None:
    """Apply client legs to the cash balances and positions they feed: into the caller's locked
    rows, or here with one locking read and one update per table, rows locked in primary-key
    order (no deadlock between two writers)."""
    cash: dict[tuple[Any, str], CashDelta] = defaultdict(CashDelta)
    securities: dict[tuple[Any, str], Decimal] = defaultdict(Decimal)
    ids: dict[str, int] = {}
    for leg in legs:
        ledger = leg.ledger_account
        if ledger.kind == K.CLIENT_CASH:
            cash[(ledger.account_id, leg.asset)].settled += leg.amount
        elif ledger.kind == K.CLIENT_CASH_UNSETTLED:
            cash[(ledger.account_id, leg.asset)].unsettled += leg.amount
        elif ledger.kind == K.CLIENT_SECURITIES:
            securities[(ledger.account_id, leg.asset)] += leg.amount
            if leg.instrument_id is not None:
                ids[leg.asset] = leg.instrument_id
    if securities:
        for symbol in {symbol for _, symbol in securities} - ids.keys():
            found = instrument_id(symbol)
            if found is None:
                raise LookupError(f"a securities leg in {symbol!r}, which no instrument has")
            ids[symbol] = found
        securities = {
            (account_id, ids[symbol]): q for (account_id, symbol), q in securities.items()
        }
    balances = into or LockedBalances(lock_cash_balances(cash), lock_positions(securities))
    for key, delta in cash.items():
        balances.add_cash(key, delta)
    for key, quantity in securities.items():
        balances.position(key).quantity += quantity
    if into is None:
        balances.write()


@dataclass(slots=True)
class CashDelta:
    """Amounts to add to a cash balance's columns."""

    settled: Decimal = Decimal(0)
    unsettled: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)


@dataclass(slots=True)
class LockedBalances:
    """Cash balances and positions a writer has locked (``lock_cash_balances``,
    ``lock_positions``) and changes in memory, each row written once at the end (``write``):
    ``post_journals(..., into=...)`` adds its postings to them, the writer its own changes."""

    cash: dict[tuple[Any, str], CashBalance]
    positions: dict[tuple[Any, int], Position]
    moved_cash: set[tuple[Any, str]] = field(default_factory=set)
    moved_positions: set[tuple[Any, int]] = field(default_factory=set)

    def add_cash(self, key: tuple[Any, str], delta: CashDelta) -> None:
        balance = self.cash.get(key)
        if balance is None:
            raise LookupError(f"cash balance {key} moved without being locked first")
        balance.settled += delta.settled
        balance.unsettled += delta.unsettled
        balance.reserved += delta.reserved
        self.moved_cash.add(key)

    def position(self, key: tuple[Any, int]) -> Position:
        """The locked position of (account id, instrument id), to change (it will be written)."""
        position = self.positions.get(key)
        if position is None:
            raise LookupError(f"position {key} moved without being locked first")
        self.moved_positions.add(key)
        return position

    def write(self, position_fields: Sequence[str] = ("quantity", "updated_at")) -> None:
        update_rows(
            CashBalance,
            [self.cash[key] for key in self.moved_cash],
            ["settled", "unsettled", "reserved", "updated_at"],
        )
        update_rows(
            Position, [self.positions[key] for key in self.moved_positions], position_fields
        )


def lock_cash_balances(keys: Iterable[tuple[Any, str]]) -> dict[tuple[Any, str], CashBalance]:
    """SELECT FOR UPDATE the cash balances of these (account id, currency) pairs, creating the
    missing ones, in primary-key order: two writers locking overlapping sets cannot deadlock."""
    keys = set(keys)
    accounts = sorted({str(account_id) for account_id, _ in keys})
    return _locked_or_created(
        keys,
        lambda: fetch_objects_sent(
            CashBalance, "WHERE account_id = ANY(%b::uuid[]) ORDER BY id FOR UPDATE", [accounts]
        ),
        lambda row: (row.account_id, row.currency),
        lambda missing: CashBalance.objects.bulk_create(
            [CashBalance(account_id=a, currency=c) for a, c in missing], ignore_conflicts=True
        ),
    )()


def lock_positions(keys: Iterable[tuple[Any, int]]) -> dict[tuple[Any, int], Position]:
    """SELECT FOR UPDATE the positions of these (account id, instrument id) pairs, creating the
    missing ones (flat), in primary-key order."""
    return lock_positions_sent(keys)()


def lock_positions_sent(
    keys: Iterable[tuple[Any, int]],
) -> Callable[[], dict[tuple[Any, int], Position]]:
    """``lock_positions``, its statement sent now (answered with others inside
    ``rows.pipeline()``); calling the result reads the rows and creates the missing ones."""
    keys = set(keys)
    accounts, instruments = sorted({str(a) for a, _ in keys}), sorted({i for _, i in keys})
    return _locked_or_created(
        keys,
        lambda: fetch_objects_sent(
            Position,
            "WHERE account_id = ANY(%b::uuid[]) AND instrument_id = ANY(%b::bigint[]) "
            "ORDER BY id FOR UPDATE",
            [accounts, instruments],
        ),
        lambda row: (row.account_id, row.instrument_id),
        lambda missing: Position.objects.bulk_create(
            [Position(account_id=a, instrument_id=i) for a, i in missing], ignore_conflicts=True
        ),
    )


def _locked_or_created(
    keys: set[KeyT],
    lock: Callable[[], Callable[[], list[RowT]]],
    key_of: Callable[[RowT], KeyT],
    create: Callable[[set[KeyT]], Any],
) -> Callable[[], dict[KeyT, RowT]]:
    """The rows of ``keys``, locked by ``lock`` (in primary-key order; it sends the statement
    and returns its read) when the result is called. Rows that do not exist yet are created
    (concurrent creators: ``ignore_conflicts``) and everything is locked again; usually all
    exist, and the batch pays one statement, sent at once."""
    if not keys:
        return lambda: {}
    read = lock()

    def locked() -> dict[KeyT, RowT]:
        found = {key: row for row in read() if (key := key_of(row)) in keys}
        missing = keys - found.keys()
        if missing:
            create(missing)
            found = {key: row for row in lock()() if (key := key_of(row)) in keys}
        return found

    return locked


def ledger_post(
    *, kind: str, reference: str, legs: list[Leg], description: str = ""
) -> tuple[Journal, bool]:
    """Book ``legs`` as one journal, idempotently by ``reference``.

    Returns (journal, created). A reference already booked returns the existing journal and
    changes nothing, so a retried business event never moves value twice.
    """
    with transaction.atomic():
        booked = post_journals([JournalEntry(kind, reference, legs, description)])
        return Journal.objects.get(reference=reference), bool(booked)


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
    balance = lock_cash_balances([(account.pk, currency)])[(account.pk, currency)]
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

    Locks both cash balance rows in primary-key order (see ``lock_cash_balances``).
    A reference already booked returns its journal unchanged.
    """
    if amount <= 0:
        raise ValidationFailed("invalid_amount", "A journal must be positive.", field="amount")
    if from_account.pk == to_account.pk:
        raise ValidationFailed("same_account", "A journal needs two different accounts.")
    booked = Journal.objects.filter(reference=reference).first()
    if booked is not None:
        return booked
    balances = lock_cash_balances([(from_account.pk, currency), (to_account.pk, currency)])
    _check_available_cash(balances[(from_account.pk, currency)], amount)
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
