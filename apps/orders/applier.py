"""The applier: commits the matcher's events to PostgreSQL, one transaction per batch.

For every batch: order states, executions for both sides, positions (quantity, average cost,
realized P&L), ledger journals for cash, securities and fees, reservation releases and an audit
event per state change. The shard's last applied sequence is stored in the same transaction, so a
batch re-applied after a crash changes nothing. Order updates are returned to the caller, which
publishes them only after the commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from channels import DEFAULT_CHANNEL_LAYER
from django.db import transaction
from django.utils import timezone

from apps.clients.models import Account, Client
from apps.common.bulk import (
    copy_rows,
    fetch_joined_sent,
    fetch_objects,
    fetch_objects_sent,
    update_rows,
)
from apps.common.decimals import plain
from apps.common.publisher import GroupPublisher
from apps.common.rows import execute_sent, pipeline, update_one
from apps.compliance.services import AuditEntry, audit_many_sent
from apps.instruments.calendar import cached_settle_date
from apps.instruments.models import Instrument, Venue
from apps.marketdata.services import trades_committed
from apps.matching.commands import ns_to_datetime, price_from_ticks, quantity_from_lots
from apps.orders.choices import FINAL_STATUSES, Liquidity, OrderStatus, Side
from apps.orders.fees import Fees, execution_fees
from apps.orders.models import LIFECYCLE_FIELDS, Execution, Order, ShardProgress
from apps.positions.choices import JournalKind, LedgerAccountKind
from apps.positions.models import LedgerAccount, Position
from apps.positions.services import (
    CashDelta,
    JournalEntry,
    Leg,
    LockedBalances,
    client_ledger_account,
    firm_ledger_account,
    ledger_accounts_of_sent,
    lock_cash_balances,
    lock_positions_sent,
    post_journals,
)

logger = logging.getLogger(__name__)
K = LedgerAccountKind
# Events that can move cash or positions (a fill, a reservation released): their handlers need
# the order's account. Acceptances and triggers change the order row alone, and a batch of them
# (most batches under order entry) reads only the instruments its updates name.
MONEY_EVENTS = frozenset({"rejected", "trade", "canceled", "replaced", "expired"})
ORDER_EVENTS = MONEY_EVENTS | {"accepted", "triggered"}
APPLIER_LABEL = "applier"


@dataclass(slots=True)
class OrderUpdate:
    """What a client is told after the commit (the trade-updates stream, the web desk)."""

    account_id: str
    order_id: str
    event: str
    at: dt.datetime
    order: dict[str, Any]  # the order as it was at the event (Order.snapshot)
    symbol: str
    asset_class: str
    replaced_by: str | None = None
    price: Decimal | None = None
    qty: Decimal | None = None
    position_qty: Decimal | None = None
    execution_id: str | None = None
    event_id: int | None = None  # the id of its audit event, known once the batch is written

    @classmethod
    def of(
        cls, order: Order, event: str, at: dt.datetime, replaced_by: str | None = None, **figures
    ) -> OrderUpdate:
        """``event`` of ``order`` (its instrument attached) at ``at``, with the order as it is
        now, in memory: the update is told after the commit, when a later event of the same
        batch may have changed it."""
        snapshot = order.snapshot()
        snapshot["updated_at"] = at.isoformat()  # the row's own is written at the commit
        instrument = order.instrument
        return cls(
            account_id=str(order.account_id),
            order_id=str(order.pk),
            event=event,
            at=at,
            order=snapshot,
            symbol=instrument.symbol,
            asset_class=instrument.asset_class,
            replaced_by=replaced_by,
            **figures,
        )

    def _figures(self) -> dict[str, str | None]:
        return {
            "event": self.event,
            "price": None if self.price is None else str(self.price),
            "qty": None if self.qty is None else str(self.qty),
            "position_qty": None if self.position_qty is None else str(self.position_qty),
            "execution_id": self.execution_id,
        }

    def details(self) -> dict[str, Any]:
        """What is kept with its audit event, from which a replay sends it again
        (``streaming.recorded_trade_updates``): the figures, and the order's lifecycle fields
        as they were (the rest of an order does not change)."""
        state = {name: self.order[name] for name in LIFECYCLE_FIELDS if name in self.order}
        return {**self._figures(), "order_state": state}

    def as_message(self) -> dict[str, Any]:
        """The channel-layer message: the figures and the whole order, so that a stream sends
        the update without reading the order back."""
        return {
            "type": "order.update",
            "event_id": self.event_id,
            "order_id": self.order_id,
            "at": self.at.isoformat(),
            **self._figures(),
            "order": self.order,
            "instrument": {"symbol": self.symbol, "asset_class": self.asset_class},
            "replaced_by": self.replaced_by,
        }


@dataclass(slots=True)
class TradePrint:
    symbol: str
    price: Decimal
    qty: Decimal
    at: dt.datetime
    seq: int
    aggressor_side: str | None


@dataclass(slots=True)
class AppliedBatch:
    shard: int
    first_seq: int = 0
    last_seq: int = 0
    applied: int = 0
    executions: int = 0
    updates: list[OrderUpdate] = field(default_factory=list)
    trades: list[TradePrint] = field(default_factory=list)


EXECUTION_COLUMNS = [
    "id",
    "order_id",
    "account_id",
    "instrument_id",
    "side",
    "shard",
    "engine_sequence",
    "price",
    "quantity",
    "liquidity",
    "commission",
    "regulatory_fees",
    "realized_pnl",
    "executed_at",
    "settle_date",
    "created_at",
]
ORDER_FIELDS = [
    "status",
    "filled_quantity",
    "average_fill_price",
    "reserved_amount",
    "quantity",
    "accepted_at",
    "engine_sequence",
    "reject_reason",
    "reject_message",
    "rejected_at",
    "filled_at",
    "canceled_at",
    "expired_at",
    "replaced_at",
    "updated_at",
]


class _Batch:
    """One batch's working set: the locked orders and positions, the ledger accounts, and every
    row the batch writes, kept in memory and written with a few set-based statements at the end
    (not a round trip per row: the applier must keep up with the matcher)."""

    def __init__(self, shard: int, orders: dict[str, Order]) -> None:
        self.shard = shard
        self.orders = orders
        self.dirty: set[str] = set()
        # Read with the positions' locks when the batch trades (acceptances need none).
        self.ledgers: dict[tuple[Any, str], LedgerAccount] | None = None
        self.balances = LockedBalances(cash={}, positions={})
        # Position quantities as the batch's fills move them; the rows' own quantities move
        # with the ledger postings at flush, and the two must agree.
        self.held: dict[tuple[Any, int], Decimal] = {}
        self.settle_dates: dict[tuple[str, int, dt.date], dt.date] = {}
        self.executions: list[tuple] = []  # EXECUTION_COLUMNS
        self.journals: list[JournalEntry] = []
        self.audits: list[AuditEntry] = []
        self.update_audits: list[int] = []  # per update in result.updates, its audit entry
        self.replacements: dict[uuid.UUID, str] | None = None  # at the first update
        self.result = AppliedBatch(shard=shard)
        self.now = timezone.now()

    def lock_balances_and_positions(self, events: list[tuple]) -> None:
        """Lock, in the order every ledger writer uses (cash, then positions), the cash balances
        the batch's events can move (trades, and reservations released by final states) and the
        positions its trades move. An acceptance moves neither: a batch of them locks nothing
        the order service waits for."""
        moving: list[Order] = []
        for event in events:
            kind = event[0]
            if kind == "trade":
                moving += [o for o in (self.order(event[7]), self.order(event[10])) if o]
            elif kind == "replaced":
                moving += [o for o in (self.order(event[4]), self.order(event[5])) if o]
            elif kind in ("rejected", "canceled", "expired"):
                order = self.order(event[4])
                if order is not None:
                    moving.append(order)
                    if event[0] == "rejected":  # a refused replace releases its replacement
                        moving += [o for o in self.orders.values() if o.replaces_id == order.pk]
        self.balances.cash = lock_cash_balances(
            (order.account_id, currency)
            for order in moving
            for currency in (order.account.base_currency, order.instrument.currency)
        )
        traded = [
            o
            for event in events
            if event[0] == "trade"
            for o in (self.order(event[7]), self.order(event[10]))
            if o is not None
        ]
        if not traded:
            return
        # The positions' locks and the ledger accounts the trades' journals book to: one round
        # trip (after the cash rows: a row created for a missing position is locked after them).
        with pipeline():
            read_positions = lock_positions_sent((o.account_id, o.instrument_id) for o in traded)
            read_ledgers = ledger_accounts_of_sent({o.account_id for o in self.orders.values()})
        self.balances.positions = read_positions()
        self.ledgers = read_ledgers()

    def order(self, order_id: Any) -> Order | None:
        return self.orders.get(str(order_id)) if order_id is not None else None

    def replacement_of(self, order: Order) -> str | None:
        """The id of the order that replaces ``order``, if the batch holds one (a replace in
        flight or done brings both)."""
        if self.replacements is None:
            self.replacements = {
                o.replaces_id: str(o.pk) for o in self.orders.values() if o.replaces_id
            }
        return self.replacements.get(order.pk)

    def ledger(self, account: Account | None, kind: str) -> LedgerAccount:
        assert self.ledgers is not None, "read with the positions of a batch with trades"
        key = (account.pk if account else None, kind)
        ledger = self.ledgers.get(key)
        if ledger is None:  # the account's first trade of this kind
            ledger = client_ledger_account(account, kind) if account else firm_ledger_account(kind)
            self.ledgers[key] = ledger
        return ledger

    def position(self, order: Order) -> tuple[Position, Decimal]:
        """The order's position (to change) and its quantity before this fill."""
        key = (order.account_id, order.instrument_id)
        position = self.balances.position(key)
        return position, self.held.get(key, position.quantity)

    def settle_date(self, instrument: Instrument, trade_date: dt.date) -> dt.date:
        key = (instrument.asset_class, instrument.venue_id, trade_date)
        settles = self.settle_dates.get(key)
        if settles is None:
            settles = self.settle_dates[key] = cached_settle_date(instrument, trade_date)
        return settles

    def release(self, order: Order, amount: Decimal | None = None) -> None:
        """Release (part of) the order's reservation; the cash balance moves at flush."""
        released = order.release_reserved(amount)
        if released:
            key = (order.account_id, order.account.base_currency)
            self.balances.add_cash(key, CashDelta(reserved=-released))

    def audit(self, order: Order, action: str, at: dt.datetime, **changes: Any) -> int:
        """Record a change of the order; returns the entry's place, for ``_update``."""
        changes["engine_time"] = at.isoformat()
        self.audits.append(
            AuditEntry(
                APPLIER_LABEL, action, "orders.order", str(order.pk), order.account_id, changes
            )
        )
        self.dirty.add(str(order.pk))
        return len(self.audits) - 1

    def flush(self) -> None:
        """Write everything the batch changed."""
        if self.executions:
            copy_rows(Execution._meta.db_table, EXECUTION_COLUMNS, self.executions)
        if self.journals:
            post_journals(self.journals, into=self.balances)
        for key, quantity in self.held.items():
            if self.balances.positions[key].quantity != quantity:
                raise AssertionError(
                    f"position {key}: the ledger moved it to a quantity other than its fills"
                )
        # The balances, the orders and the audit events' ids: one round trip.
        with pipeline():
            self.balances.write(["quantity", "average_cost", "realized_pnl", "updated_at"])
            update_rows(Order, [self.orders[oid] for oid in sorted(self.dirty)], ORDER_FIELDS)
            write_audits = audit_many_sent(self.audits)
        event_ids = write_audits()
        for update, entry in zip(self.result.updates, self.update_audits, strict=True):
            update.event_id = event_ids[entry]


def apply_events(shard: int, events: list[tuple]) -> AppliedBatch:
    """Apply a batch of engine events (in sequence order) in one transaction."""
    if not events:
        return AppliedBatch(shard=shard)
    with transaction.atomic():
        with pipeline():  # the claim and the orders' locks: one round trip
            claimed = _claim_sent(shard, events)
            read_orders = _lock_orders_sent(events)
        fresh, last_seq = _claimed(shard, events, claimed())
        orders = read_orders()
        if not fresh:
            return AppliedBatch(shard=shard, last_seq=last_seq)
        batch = _Batch(shard, _with_references(orders, fresh))
        batch.lock_balances_and_positions(fresh)
        for event in fresh:
            handler = _HANDLERS.get(event[0])
            if handler is not None:
                handler(batch, event)
        batch.flush()
        batch.result.first_seq = fresh[0][1]
        batch.result.last_seq = last_seq
        batch.result.applied = len(fresh)
    return batch.result


@cache
def _claim_statement() -> str:
    table = ShardProgress._meta.db_table
    return (
        f'UPDATE "{table}" SET last_seq = %s, updated_at = %s '  # noqa: S608 (model metadata)
        "WHERE shard = %s AND last_seq < %s RETURNING last_seq"
    )


def _claim_sent(shard: int, events: list[tuple]) -> Callable[[], list[tuple]]:
    """Lock the shard's progress row (one applier per shard at a time) and move it to the
    batch's last sequence, if the batch is new: it is, except after a crash."""
    first, last = events[0][1], events[-1][1]
    return execute_sent(_claim_statement(), [last, timezone.now(), shard, first])


def _claimed(shard: int, events: list[tuple], claim: list[tuple]) -> tuple[list[tuple], int]:
    """The batch's events not applied before, and the shard's progress as it will commit. A
    batch delivered again after a crash (committed, not acknowledged) has its events at or below
    the stored sequence dropped, so re-applying it changes nothing."""
    if claim:
        return events, events[-1][1]
    progress = _locked_progress(shard)
    fresh = [e for e in events if e[1] > progress.last_seq]
    if fresh:
        progress.last_seq = fresh[-1][1]
        update_one(progress, ["last_seq", "updated_at"])
    return fresh, progress.last_seq


def _locked_progress(shard: int) -> ShardProgress:
    """The shard's progress row, locked (created on the shard's first batch)."""
    found = fetch_objects(ShardProgress, "WHERE shard = %b FOR UPDATE", [shard])
    if not found:
        ShardProgress.objects.get_or_create(shard=shard)
        found = fetch_objects(ShardProgress, "WHERE shard = %b FOR UPDATE", [shard])
    return found[0]


def _lock_orders_sent(events: list[tuple]) -> Callable[[], list[Order]]:
    """Every order the batch's events name, locked in primary-key order (a fixed order: no
    deadlock with the order service, which locks single orders). A batch delivered again after
    a crash locks the orders of events it then drops: they stay as they are."""
    ids: set[str] = set()
    for event in events:
        kind = event[0]
        if kind == "trade":
            ids.add(str(event[7]))
            ids.add(str(event[10]))
        elif kind == "replaced":
            ids.add(str(event[4]))
            ids.add(str(event[5]))
        elif kind in ORDER_EVENTS:
            ids.add(str(event[4]))
    return fetch_objects_sent(
        Order, "WHERE id = ANY(%b::uuid[]) ORDER BY id FOR UPDATE", [sorted(ids)]
    )


def _with_references(orders: list[Order], events: list[tuple]) -> dict[str, Order]:
    """The locked orders by id, with the replacement of a replace the engine rejected (its event
    names the old order), each with its references attached."""
    by_id = {str(o.pk): o for o in orders}
    missing_replacements = [o for o in by_id.values() if o.status == OrderStatus.PENDING_REPLACE]
    if missing_replacements:
        for new in (
            Order.objects.select_for_update()
            .filter(replaces__in=missing_replacements, status=OrderStatus.PENDING_NEW)
            .order_by("pk")
        ):
            by_id.setdefault(str(new.pk), new)
    _attach_references(
        list(by_id.values()), accounts=any(event[0] in MONEY_EVENTS for event in events)
    )
    return by_id


# Each instrument with its venue, each account with its client.
_INSTRUMENTS = ((Instrument, "i", ""), (Venue, "v", "JOIN {table} v ON v.id = i.venue_id"))
_ACCOUNTS = ((Account, "a", ""), (Client, "c", "JOIN {table} c ON c.id = a.client_id"))


def _attach_references(orders: list[Order], *, accounts: bool) -> None:
    """Each order's instrument (with venue; every update names its symbol) and, when
    ``accounts``, its account (with client; money events need them): each row read once for
    the batch, not joined into every order row, in statements written once (the ORM's query
    building cost more than a small batch), answered in one round trip."""
    with pipeline():
        instrument_ids = sorted({order.instrument_id for order in orders})
        read_instruments = fetch_joined_sent(_INSTRUMENTS, "i.id = ANY(%b)", [instrument_ids])
        if accounts:
            account_ids = sorted({order.account_id for order in orders})
            read_accounts = fetch_joined_sent(_ACCOUNTS, "a.id = ANY(%b)", [account_ids])
    instruments = {}
    for instrument, venue in read_instruments():
        instrument.venue = venue
        instruments[instrument.pk] = instrument
    for order in orders:
        order.instrument = instruments[order.instrument_id]
    if not accounts:
        return
    by_id = {}
    for account, client in read_accounts():
        account.client = client
        by_id[account.pk] = account
    for order in orders:
        order.account = by_id[order.account_id]


def _update(
    batch: _Batch, order: Order, event: str, at: dt.datetime, recorded: int, **fields: Any
) -> None:
    """Tell the order's account of ``event`` after the commit. ``recorded`` is the audit entry
    of the change (``batch.audit``): it keeps the update's details (``update``), and its id is
    the update's event id, so the recorded updates can be sent again in order
    (``streaming.recorded_trade_updates``)."""
    update = OrderUpdate.of(order, event, at, batch.replacement_of(order), **fields)
    batch.audits[recorded].changes["update"] = update.details()
    batch.update_audits.append(recorded)
    batch.result.updates.append(update)


def _set_status(order: Order, status: str) -> None:
    if order.status != status:
        order.transition_to(status)


def _live_status(order: Order) -> str:
    return OrderStatus.PARTIALLY_FILLED if order.filled_quantity > 0 else OrderStatus.NEW


def _on_accepted(batch: _Batch, event: tuple) -> None:
    order = batch.order(event[4])
    if order is None or order.status != OrderStatus.PENDING_NEW:
        return
    at = ns_to_datetime(event[2])
    _set_status(order, OrderStatus.NEW)
    order.accepted_at = at
    order.engine_sequence = event[1]
    recorded = batch.audit(order, "order.accepted", at, seq=event[1])
    _update(batch, order, "new", at, recorded)


def _on_rejected(batch: _Batch, event: tuple) -> None:
    _, seq, ts_ns, _symbol, order_id, _account, reason, request = event
    order = batch.order(order_id)
    if order is None:
        return
    at = ns_to_datetime(ts_ns)
    if request == "new" and order.status in (OrderStatus.PENDING_NEW, OrderStatus.PENDING_CANCEL):
        order.status = OrderStatus.REJECTED  # the engine's word is final, from either state
        order.reject_reason = reason
        order.reject_message = f"Rejected by the matching engine: {reason.replace('_', ' ')}."
        order.rejected_at = at
        batch.release(order)
        recorded = batch.audit(order, "order.rejected", at, reason=reason, seq=seq)
        _update(batch, order, "rejected", at, recorded)
    elif request == "cancel" and order.status == OrderStatus.PENDING_CANCEL:
        order.status = _live_status(order)
        recorded = batch.audit(order, "order.cancel_rejected", at, reason=reason, seq=seq)
        _update(batch, order, "order_cancel_rejected", at, recorded)
    elif request == "replace":
        replacement = next(
            (
                o
                for o in batch.orders.values()
                if o.replaces_id == order.pk and o.status == OrderStatus.PENDING_NEW
            ),
            None,
        )
        if replacement is not None:
            replacement.status = OrderStatus.REJECTED
            replacement.reject_reason = reason
            replacement.reject_message = (
                f"Replace rejected by the matching engine: {reason.replace('_', ' ')}."
            )
            replacement.rejected_at = at
            batch.release(replacement)
            recorded = batch.audit(replacement, "order.rejected", at, reason=reason, seq=seq)
            _update(batch, replacement, "rejected", at, recorded)
        if order.status == OrderStatus.PENDING_REPLACE:
            order.status = _live_status(order)
            recorded = batch.audit(order, "order.replace_rejected", at, reason=reason, seq=seq)
            _update(batch, order, "order_replace_rejected", at, recorded)


def _on_trade(batch: _Batch, event: tuple) -> None:
    (
        _,
        seq,
        ts_ns,
        _symbol,
        price_ticks,
        qty_lots,
        aggressor,
        taker_id,
        _ta,
        _tl,
        maker_id,
        _ma,
        _ml,
    ) = event
    taker, maker = batch.order(taker_id), batch.order(maker_id)
    if taker is None or maker is None:
        logger.error(
            "trade %s names an order the database does not have: %s / %s", seq, taker_id, maker_id
        )
        return
    instrument = taker.instrument
    price = price_from_ticks(instrument, price_ticks)
    qty = quantity_from_lots(instrument, qty_lots)
    at = ns_to_datetime(ts_ns)
    settles = batch.settle_date(instrument, at.date())
    in_auction = aggressor is None
    fills = []
    for order, liquidity in ((taker, Liquidity.TAKER), (maker, Liquidity.MAKER)):
        if in_auction:
            liquidity = Liquidity.AUCTION
        fills.append(_fill(batch, order, liquidity, seq, at, price, qty, settles))
    batch.journals.append(_trade_journal(batch, seq, instrument, price, qty, fills, settles, at))
    batch.result.trades.append(TradePrint(instrument.symbol, price, qty, at, seq, aggressor))


def _fill(
    batch: _Batch,
    order: Order,
    liquidity: str,
    seq: int,
    at: dt.datetime,
    price: Decimal,
    qty: Decimal,
    settles: dt.date,
) -> tuple[Order, Fees]:
    instrument = order.instrument
    notional = price * qty * instrument.multiplier
    fees = execution_fees(
        client_type=order.account.client.client_type,
        asset_class=instrument.asset_class,
        side=order.side,
        quantity=qty,
        notional=notional,
    )
    leaves_before = order.quantity - order.filled_quantity
    previous_value = (order.average_fill_price or Decimal(0)) * order.filled_quantity
    order.filled_quantity += qty
    order.average_fill_price = (previous_value + price * qty) / order.filled_quantity
    if order.filled_quantity >= order.quantity:
        _set_status(order, OrderStatus.FILLED)
        order.filled_at = at
        batch.release(order)
        event = "fill"
    else:
        if order.status not in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE):
            _set_status(order, OrderStatus.PARTIALLY_FILLED)
        # Keep the reservation in proportion to what is still open.
        leaves_after = order.quantity - order.filled_quantity
        keep = order.reserved_amount * leaves_after / leaves_before if leaves_before else Decimal(0)
        batch.release(order, order.reserved_amount - keep)
        event = "partial_fill"
    position_qty, realized = _move_position(batch, order, price, qty)
    execution_id = uuid.uuid4()
    batch.executions.append(
        (
            execution_id,
            order.pk,
            order.account_id,
            instrument.pk,
            order.side,
            batch.shard,
            seq,
            price,
            qty,
            liquidity,
            fees.commission,
            fees.regulatory,
            realized,
            at,
            settles,
            batch.now,
        )
    )
    recorded = batch.audit(
        order, "order.filled", at, seq=seq, price=price, qty=qty, status=order.status
    )
    _update(
        batch,
        order,
        event,
        at,
        recorded,
        price=price,
        qty=qty,
        position_qty=position_qty,
        execution_id=str(execution_id),
    )
    batch.result.executions += 1
    return order, fees


def _move_position(
    batch: _Batch, order: Order, price: Decimal, qty: Decimal
) -> tuple[Decimal, Decimal]:
    """Average cost and realized P&L of the position after this fill (the quantity in the
    database moves with the ledger posting). Returns the quantity the position will have and the
    P&L the fill realized."""
    position, held = batch.position(order)
    signed = qty if order.side == Side.BUY else -qty
    after = held + signed
    multiplier = order.instrument.multiplier
    realized = Decimal(0)
    if held == 0 or (held > 0) == (signed > 0):
        position.average_cost = (abs(held) * position.average_cost + qty * price) / abs(after)
    else:
        closed = min(qty, abs(held))
        direction = 1 if held > 0 else -1
        realized = closed * (price - position.average_cost) * direction * multiplier
        position.realized_pnl += realized
        if after == 0:
            position.average_cost = Decimal(0)
        elif (after > 0) != (held > 0):
            position.average_cost = price  # the fill flipped the position: the rest is new
    batch.held[(order.account_id, order.instrument_id)] = after
    return after, realized


def _trade_journal(
    batch: _Batch,
    seq: int,
    instrument: Instrument,
    price: Decimal,
    qty: Decimal,
    fills: list[tuple[Order, Fees]],
    settles: dt.date,
    at: dt.datetime,
) -> JournalEntry:
    """One balanced journal for the trade: securities and cash between buyer and seller, fees to
    the firm's revenue and to the regulators' payable."""
    notional = price * qty * instrument.multiplier
    cash_kind = K.CLIENT_CASH if settles <= at.date() else K.CLIENT_CASH_UNSETTLED
    currency = instrument.currency
    legs: list[Leg] = []
    commissions = regulatory = Decimal(0)
    for order, fees in fills:
        account = order.account
        sign = 1 if order.side == Side.BUY else -1
        securities = batch.ledger(account, K.CLIENT_SECURITIES)
        legs.append(Leg(securities, instrument.symbol, qty * sign, instrument.pk))
        cash = -notional * sign - fees.total
        if cash:
            legs.append(Leg(batch.ledger(account, cash_kind), currency, cash))
        commissions += fees.commission
        regulatory += fees.regulatory
    if commissions:
        legs.append(Leg(batch.ledger(None, K.FIRM_COMMISSIONS), currency, commissions))
    if regulatory:
        legs.append(Leg(batch.ledger(None, K.REGULATORY_FEES_PAYABLE), currency, regulatory))
    return JournalEntry(
        kind=JournalKind.TRADE,
        reference=f"trade:{batch.shard}:{seq}",
        description=f"{plain(qty)} {instrument.symbol} @ {plain(price)}",
        legs=legs,
    )


def _on_canceled(batch: _Batch, event: tuple) -> None:
    _, seq, ts_ns, _symbol, order_id, _account, reason, canceled_lots, leaves_lots = event
    order = batch.order(order_id)
    if order is None or order.status in FINAL_STATUSES:
        return
    at = ns_to_datetime(ts_ns)
    instrument = order.instrument
    if leaves_lots:
        # Self-trade "decrement": the order stays live, smaller by what was canceled.
        canceled = quantity_from_lots(instrument, canceled_lots)
        leaves_before = order.quantity - order.filled_quantity
        order.quantity -= canceled
        keep = order.reserved_amount * (leaves_before - canceled) / leaves_before
        batch.release(order, order.reserved_amount - keep)
        recorded = batch.audit(
            order, "order.decremented", at, seq=seq, reason=reason, canceled_qty=canceled
        )
        _update(batch, order, "replaced", at, recorded, qty=order.quantity)
        return
    order.status = OrderStatus.CANCELED  # the engine's word is final from any live state
    order.canceled_at = at
    batch.release(order)
    recorded = batch.audit(order, "order.canceled", at, seq=seq, reason=reason)
    _update(batch, order, "canceled", at, recorded)


def _on_expired(batch: _Batch, event: tuple) -> None:
    _, seq, ts_ns, _symbol, order_id, _account, reason, _lots = event
    order = batch.order(order_id)
    if order is None or order.status in FINAL_STATUSES:
        return
    at = ns_to_datetime(ts_ns)
    order.status = OrderStatus.EXPIRED
    order.expired_at = at
    batch.release(order)
    recorded = batch.audit(order, "order.expired", at, seq=seq, reason=reason)
    _update(batch, order, "expired", at, recorded)


def _on_replaced(batch: _Batch, event: tuple) -> None:
    _, seq, ts_ns, _symbol, old_id, new_id, _account, _price, _qty, _leaves, priority_kept = event
    old, new = batch.order(old_id), batch.order(new_id)
    if old is None or new is None or old.status in FINAL_STATUSES:
        return
    at = ns_to_datetime(ts_ns)
    old.status = OrderStatus.REPLACED
    old.replaced_at = at
    batch.release(old)
    new.filled_quantity = old.filled_quantity
    new.average_fill_price = old.average_fill_price
    new.status = _live_status(new)
    new.accepted_at = at
    new.engine_sequence = old.engine_sequence if priority_kept else seq
    old_recorded = batch.audit(
        old, "order.replaced", at, seq=seq, replaced_by=str(new.pk), priority_kept=priority_kept
    )
    new_recorded = batch.audit(new, "order.accepted", at, seq=seq, replaces=str(old.pk))
    _update(batch, old, "replaced", at, old_recorded)
    _update(batch, new, "new", at, new_recorded)


def _on_triggered(batch: _Batch, event: tuple) -> None:
    order = batch.order(event[4])
    if order is not None:
        at = ns_to_datetime(event[2])
        batch.audit(order, "order.triggered", at, seq=event[1], last_price_ticks=event[7])


_HANDLERS = {
    "accepted": _on_accepted,
    "rejected": _on_rejected,
    "trade": _on_trade,
    "canceled": _on_canceled,
    "replaced": _on_replaced,
    "triggered": _on_triggered,
    "expired": _on_expired,
}


# --- the process -------------------------------------------------------------------------------

APPLIER_GROUP = "applier"
# Order updates go out on the default channel layer, each account's in commit order.
order_updates = GroupPublisher(DEFAULT_CHANNEL_LAYER, label="order updates")
# The output stream is trimmed this often to what every consumer group has acknowledged.
TRIM_EVERY_S = 10.0


def publish_batch(batch: AppliedBatch) -> None:
    """Tell clients what the batch committed: per-account order updates over the channel layer
    first (a client is waiting for its fill; queuing them costs the applier nothing), then trade
    prints and bars to market data (a statement and a Redis call). Called after the commit; a
    lost publish loses a notification, never a record."""
    order_updates.publish(
        (f"orders.{update.account_id}", update.as_message()) for update in batch.updates
    )
    trades_committed(batch.trades)


def _wait_for_company(
    read: Callable[[str, int, int | None], list],
    decoded: Callable[[list], list[tuple]],
    entries: list,
    events: list[tuple],
    *,
    count: int,
    linger_ms: int,
) -> None:
    """Extend a read of acknowledgements only (``entries`` and their ``events``, in place) with
    what arrives within ``linger_ms``: one commit for several orders under load. The first event
    that moves money ends the wait, so a fill is never held back."""
    deadline = time.monotonic() + linger_ms / 1000
    while len(entries) < count and not any(event[0] in MONEY_EVENTS for event in events):
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            return
        more = read(">", count - len(entries), left_ms)
        if not more:
            return
        entries += more
        events += decoded(more)


def run_applier(
    shard: int,
    *,
    consumer: str = "applier-1",
    block_ms: int = 1000,
    count: int = 500,
    linger_ms: int | None = None,
    stop=None,
) -> None:
    """Consume the shard's output stream with a consumer group: first anything delivered but not
    acknowledged before a crash, then new entries; apply, acknowledge, publish. A read of
    acceptances only waits up to ``linger_ms`` (``APPLIER_LINGER_MS``) for more."""
    import redis
    from django.conf import settings

    from apps.matching.transport import (
        decode_output_entry,
        output_stream,
        redis_client,
        trim_output_stream,
    )

    client = redis_client()
    stream = output_stream(shard)
    try:
        client.xgroup_create(stream, APPLIER_GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    if linger_ms is None:
        linger_ms = settings.APPLIER_LINGER_MS
    backlog = True
    trimmed_at = time.monotonic()

    def read(entry_id: str, limit: int, block: int | None) -> list:
        reply = client.xreadgroup(
            APPLIER_GROUP, consumer, {stream: entry_id}, count=limit, block=block
        )
        return reply[0][1] if reply else []

    def decoded(entries: list) -> list[tuple]:
        return [event for _entry_id, fields in entries for event in decode_output_entry(fields)]

    while stop is None or not stop.is_set():
        if time.monotonic() - trimmed_at > TRIM_EVERY_S:
            trim_output_stream(shard, client=client)
            trimmed_at = time.monotonic()
        entries = read("0", count, None) if backlog else read(">", count, block_ms)
        if backlog and not entries:
            backlog = False
            continue
        if not entries:
            continue
        events = decoded(entries)
        if not backlog:
            _wait_for_company(read, decoded, entries, events, count=count, linger_ms=linger_ms)
        order_events = [e for e in events if e[0] in ORDER_EVENTS]
        batch = apply_events(shard, order_events) if order_events else AppliedBatch(shard=shard)
        client.xack(stream, APPLIER_GROUP, *[entry_id for entry_id, _ in entries])
        publish_batch(batch)
        if batch.applied:
            logger.info(
                "applied seq %s..%s: %s events, %s executions",
                batch.first_seq,
                batch.last_seq,
                batch.applied,
                batch.executions,
            )
    order_updates.flush(timeout=2.0)  # stopping: what was committed is still told
