"""The one door for orders: the web desk, the REST API and FIX all call these functions.

Each use case validates (instrument, account, order shape), runs pre-trade risk, then commits the
order with its buying-power reservation in one transaction, and only after the commit hands the
command to the matcher. Rejections are recorded too (compliance wants every attempt), then raised.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.clients.choices import AccountStatus, AssetClass, ComplianceStatus, KycStatus, OptionLevel
from apps.clients.models import Account
from apps.common.decimals import plain
from apps.common.errors import Conflict, ValidationFailed
from apps.common.rows import insert_one, pipeline, select_one, select_one_sent, update_one
from apps.compliance.services import audit_record
from apps.instruments.models import Instrument
from apps.instruments.rules import check_price, check_price_band, check_quantity
from apps.matching.commands import cancel_command, new_order_command, replace_command
from apps.matching.transport import publish_commands
from apps.orders.choices import (
    OrderSource,
    OrderStatus,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from apps.orders.models import Order
from apps.positions.models import CashBalance, Position
from apps.risk.choices import AlertKind
from apps.risk.models import RiskAlert
from apps.risk.pretrade import (
    OrderRejected,
    PretradeSnapshot,
    RiskDecision,
    pretrade_check,
    pretrade_snapshot,
    pretrade_snapshot_sent,
)

__all__ = [
    "OrderRejected",
    "order_approve_held",
    "order_cancel",
    "order_refuse_held",
    "order_replace",
    "order_submit",
    "orders_cancel_all",
    "position_close",
]

_LIVE_IN_ENGINE = frozenset(
    {OrderStatus.PENDING_NEW, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED}
)


def _now_ns() -> int:
    return time.time_ns()


def _actor_fields(
    actor: AbstractBaseUser | None, actor_label: str | None, source: str
) -> dict[str, Any]:
    return {"actor": actor, "actor_label": actor_label or (None if actor else f"{source}")}


def check_account_may_trade(
    account: Account, instrument: Instrument, side: str, *, restricted: bool
) -> None:
    """The client behind the account is active, KYC-approved, permitted for the asset class and
    not restricted (``restricted``: ``PretradeSnapshot.restricted``); the account is open."""
    client = account.client
    if account.status != AccountStatus.ACTIVE:
        raise OrderRejected(
            "account_not_active", f"Account {account.number} is {account.get_status_display()}."
        )
    if not client.is_active or client.kyc_status != KycStatus.APPROVED:
        raise OrderRejected("kyc_not_approved", "The client's identity checks are not complete.")
    if client.compliance_status == ComplianceStatus.FROZEN:
        raise OrderRejected("account_frozen", "The account is frozen by compliance.")
    permissions = getattr(account, "permissions", None)
    if permissions is None or not permissions.allows(instrument.asset_class):
        raise OrderRejected(
            "asset_class_not_permitted",
            f"The account is not approved for {instrument.get_asset_class_display()}.",
        )
    if instrument.asset_class == AssetClass.OPTION:
        needed = OptionLevel.LONG if side == Side.BUY else OptionLevel.COVERED
        if permissions.option_level < needed:
            raise OrderRejected(
                "option_level_insufficient", "The account's option level does not allow this order."
            )
    if restricted:
        raise OrderRejected(
            "restricted_instrument", f"{instrument.symbol} is on the restricted list."
        )


def check_order_shape(
    *,
    instrument: Instrument,
    order_type: str,
    time_in_force: str,
    quantity: Decimal,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
    display_quantity: Decimal | None,
    hidden: bool,
    post_only: bool,
    expire_at: dt.datetime | None,
) -> None:
    """The order is well formed for this instrument: prices on the tick grid and inside the band,
    quantities on the lot grid, a coherent combination of type, time in force and flags."""
    if not instrument.tradable:
        raise OrderRejected("instrument_not_tradable", f"{instrument.symbol} is not tradable.")
    if order_type not in OrderType.values:
        raise ValidationFailed(
            "invalid_order_type", f"Unknown order type {order_type!r}.", field="type"
        )
    if time_in_force not in TimeInForce.values:
        raise ValidationFailed(
            "invalid_time_in_force",
            f"Unknown time in force {time_in_force!r}.",
            field="time_in_force",
        )
    check_quantity(instrument, quantity)
    if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        if limit_price is None:
            raise ValidationFailed(
                "limit_price_required", "A limit order needs a limit price.", field="limit_price"
            )
        check_price(instrument, limit_price)
        check_price_band(instrument, limit_price)
    elif limit_price is not None:
        raise ValidationFailed(
            "unexpected_limit_price", "Only limit orders take a limit price.", field="limit_price"
        )
    if order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
        if stop_price is None:
            raise ValidationFailed(
                "stop_price_required", "A stop order needs a stop price.", field="stop_price"
            )
        check_price(instrument, stop_price, field="stop_price")
    elif stop_price is not None:
        raise ValidationFailed(
            "unexpected_stop_price", "Only stop orders take a stop price.", field="stop_price"
        )
    if time_in_force == TimeInForce.GTD:
        if expire_at is None or expire_at <= timezone.now():
            raise ValidationFailed(
                "invalid_expire_time",
                "A GTD order needs an expiry in the future.",
                field="expire_at",
            )
    elif expire_at is not None:
        raise ValidationFailed(
            "unexpected_expire_time", "Only GTD orders take an expiry.", field="expire_at"
        )
    if time_in_force in (TimeInForce.OPG, TimeInForce.CLS) and instrument.venue.is_24x7:
        raise ValidationFailed(
            "tif_not_supported",
            f"{instrument.symbol} trades around the clock: it has no auctions.",
            field="time_in_force",
        )
    if display_quantity is not None:
        if order_type != OrderType.LIMIT or hidden:
            raise ValidationFailed(
                "invalid_display_quantity", "Only visible limit orders can be icebergs."
            )
        check_quantity(instrument, display_quantity)
        if display_quantity >= quantity:
            raise ValidationFailed(
                "invalid_display_quantity",
                "The displayed quantity must be below the order quantity.",
                field="display_qty",
            )
    if hidden and order_type != OrderType.LIMIT:
        raise ValidationFailed("invalid_hidden", "Only limit orders can be hidden.")
    if post_only and (
        order_type != OrderType.LIMIT or time_in_force in (TimeInForce.IOC, TimeInForce.FOK)
    ):
        raise ValidationFailed("invalid_post_only", "Post-only applies to resting limit orders.")


def quantity_for_notional(instrument: Instrument, notional: Decimal) -> Decimal:
    """Whole lots that ``notional`` buys at the reference price (fractional dollar orders)."""
    if instrument.reference_price is None:
        raise OrderRejected(
            "no_reference_price", f"{instrument.symbol} has no reference price yet."
        )
    units = (
        notional / (instrument.reference_price * instrument.multiplier) / instrument.lot_size
    ).to_integral_value(rounding=ROUND_DOWN)
    return units * instrument.lot_size


def _locked_cash(account: Account) -> CashBalance:
    """Lock the account's cash row: every order of the account serializes here, so buying power
    is never spent twice. One statement, unless the account has no cash row yet."""
    cash = select_one(CashBalance, *_cash_row(account), lock=True)
    if cash is None:
        CashBalance.objects.get_or_create(account=account, currency=account.base_currency)
        cash = select_one(CashBalance, *_cash_row(account), lock=True)
    return cash


def _cash_row(account: Account) -> tuple[str, list[Any]]:
    return "t.account_id = %s AND t.currency = %s", [account.pk, account.base_currency]


def _locked_cash_and_snapshot(
    account: Account, instrument: Instrument, side: str
) -> tuple[CashBalance, PretradeSnapshot]:
    """Lock the account's cash row (``_locked_cash``) and read the risk checks' snapshot after
    it, in one round trip inside ``pipeline()``: the snapshot's statement starts once the lock
    is granted, so it sees everything the lock's previous holder committed."""
    read_cash = select_one_sent(CashBalance, *_cash_row(account), lock=True)
    read_snapshot = pretrade_snapshot_sent(account=account, instrument=instrument, side=side)
    cash, snapshot = read_cash(), read_snapshot()
    if cash is None:  # the account's first order: its row is created, then locked and read
        cash = _locked_cash(account)
        snapshot = pretrade_snapshot(account=account, instrument=instrument, side=side)
    return cash, snapshot


def _publish_after_commit(order: Order, command_factory) -> None:
    shard = order.instrument.shard
    transaction.on_commit(lambda: publish_commands(shard, [command_factory()]))


def order_submit(
    *,
    account: Account,
    instrument: Instrument,
    side: str,
    order_type: str,
    time_in_force: str,
    quantity: Decimal | None = None,
    notional: Decimal | None = None,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
    client_order_id: str | None = None,
    extended_hours: bool = False,
    display_quantity: Decimal | None = None,
    hidden: bool = False,
    post_only: bool = False,
    expire_at: dt.datetime | None = None,
    self_trade_prevention: str | None = None,
    source: str = OrderSource.API,
    actor: AbstractBaseUser | None = None,
    actor_label: str | None = None,
) -> Order:
    """Validate, risk-check and enter an order. Returns it as ``pending_new`` (sent to the matcher
    after commit) or ``held`` (waiting for a risk manager). Raises ``ValidationFailed`` for a
    malformed request and ``OrderRejected`` (with the recorded order) for a refused one.

    Submitting the same ``client_order_id`` again with the same terms returns the first order.
    """
    if side not in Side.values:
        raise ValidationFailed(
            "invalid_side", f"Side must be buy or sell, not {side!r}.", field="side"
        )
    if (quantity is None) == (notional is None):
        raise ValidationFailed(
            "qty_or_notional", "Give either a quantity or a notional amount.", field="qty"
        )
    if notional is not None:
        if order_type != OrderType.MARKET or time_in_force != TimeInForce.DAY or notional <= 0:
            raise ValidationFailed(
                "invalid_notional",
                "Notional orders are positive market day orders.",
                field="notional",
            )
        quantity = quantity_for_notional(instrument, notional)
    if extended_hours:
        raise ValidationFailed(
            "extended_hours_not_offered",
            "Extended-hours trading is not offered: outside regular hours our venues run auction "
            "calls, which day limit orders join without it.",
            field="extended_hours",
        )
    # An id we generate is new: only one the client chose can name an order entered before.
    chosen_id = bool(client_order_id)
    client_order_id = client_order_id or str(uuid.uuid4())

    # Pipelined: besides its BEGIN and COMMIT, the order waits for the database three times (the
    # cash row's lock with the risk snapshot, its writes when the audit event's id is read back,
    # the pipeline's end) where it waited once per statement (five).
    with transaction.atomic(), pipeline():
        cash, snapshot = _locked_cash_and_snapshot(account, instrument, side)
        existing = (
            Order.objects.filter(account=account, client_order_id=client_order_id).first()
            if chosen_id
            else None
        )
        if existing is not None:
            same_terms = (
                existing.instrument_id == instrument.pk
                and existing.side == side
                and existing.order_type == order_type
                and existing.quantity == quantity
                and existing.limit_price == limit_price
                and existing.stop_price == stop_price
            )
            if not same_terms:
                raise ValidationFailed(
                    "duplicate_client_order_id",
                    "client_order_id must be unique per account.",
                    field="client_order_id",
                )
            return existing
        # The order's terms, as stored and as checked against the instrument.
        terms = {
            "order_type": order_type,
            "time_in_force": time_in_force,
            "quantity": quantity,
            "limit_price": limit_price,
            "stop_price": stop_price,
            "display_quantity": display_quantity,
            "hidden": hidden,
            "post_only": post_only,
            "expire_at": expire_at,
        }
        order = Order(
            account=account,
            instrument=instrument,
            client_order_id=client_order_id,
            side=side,
            self_trade_prevention=self_trade_prevention or SelfTradePrevention.CANCEL_NEWEST,
            source=source,
            submitted_at=timezone.now(),
            notional=notional,
            **terms,
        )
        try:
            check_order_shape(instrument=instrument, **terms)
            check_account_may_trade(account, instrument, side, restricted=snapshot.restricted)
            decision = pretrade_check(
                account=account,
                instrument=instrument,
                side=side,
                order_type=order_type,
                quantity=quantity,
                limit_price=limit_price,
                cash=cash,
                snapshot=snapshot,
            )
        except ValidationFailed:
            raise
        except OrderRejected as rejection:
            rejection.order = _record_rejection(
                order, rejection, actor=actor, actor_label=actor_label
            )
            refused = rejection
        else:
            refused = None
            _enter(order, decision, cash=cash, actor=actor, actor_label=actor_label)
    if refused is not None:
        raise refused
    return order


def _mark_not_replaced(order: Order) -> None:
    """A new order has no replacement yet: say so on the instance, so that reading
    ``order.replaced_by`` (the API's order representation does) costs no query."""
    Order._meta.get_field("replaced_by").set_cached_value(order, None)


def _record_rejection(
    order: Order,
    rejection: OrderRejected,
    *,
    actor: AbstractBaseUser | None,
    actor_label: str | None,
) -> Order:
    order.status = OrderStatus.REJECTED
    order.reject_reason = rejection.code
    order.reject_message = rejection.message[:300]
    order.rejected_at = timezone.now()
    order.save()
    _mark_not_replaced(order)
    audit_record(
        action="order.rejected",
        obj=order,
        account_id=order.account_id,
        changes={"reason": rejection.code, "message": rejection.message},
        **_actor_fields(actor, actor_label, order.source),
    )
    return order


def _enter(
    order: Order,
    decision: RiskDecision,
    *,
    cash: CashBalance,
    actor: AbstractBaseUser | None,
    actor_label: str | None,
) -> None:
    """Save the accepted (or held) order and its reservation; ``cash`` is the account's locked
    cash row."""
    order.reserved_amount = decision.reservation
    order.status = OrderStatus.HELD if decision.hold_code else OrderStatus.PENDING_NEW
    insert_one(order)
    _mark_not_replaced(order)
    if decision.reservation:
        cash.reserved += decision.reservation  # the row is locked: no one else moved it
        update_one(cash, ["reserved", "updated_at"])
    audit_record(
        action="order.held" if decision.hold_code else "order.submitted",
        obj=order,
        account_id=order.account_id,
        changes={
            "symbol": order.instrument.symbol,
            "side": order.side,
            "type": order.order_type,
            "qty": order.quantity,
            "limit_price": order.limit_price,
            "stop_price": order.stop_price,
            "tif": order.time_in_force,
            "reserved": decision.reservation,
            "hold": decision.hold_code,
        },
        **_actor_fields(actor, actor_label, order.source),
    )
    if decision.hold_code:
        RiskAlert.objects.create(
            kind=AlertKind.HELD_ORDER,
            account=order.account,
            order=order,
            code=decision.hold_code,
            message=decision.hold_message[:300],
        )
    else:
        _publish_after_commit(order, lambda: new_order_command(order, ts_ns=_now_ns()))


def release_reservation(order: Order, amount: Decimal | None = None) -> Decimal:
    """Give back ``amount`` (default: all) of the order's buying-power reservation. Call inside
    the transaction that changes the order."""
    amount = order.release_reserved(amount)
    if not amount:
        return amount
    CashBalance.objects.filter(
        account_id=order.account_id, currency=order.account.base_currency
    ).update(reserved=F("reserved") - amount)
    return amount


def _locked_order(order: Order) -> Order:
    """The order's row locked, read with its instrument and account. Only the order's row: a
    lock taken with ``select_related`` would lock the joined rows as well, and every cancel or
    replace would then hold its instrument's row (all cancels of a symbol, across accounts, in
    one queue, behind any change to the instrument) and its account's."""
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("instrument", "account")
        .get(pk=order.pk)
    )


def order_cancel(
    *,
    order: Order,
    source: str = OrderSource.API,
    actor: AbstractBaseUser | None = None,
    actor_label: str | None = None,
) -> Order:
    """Ask for a cancel. A held order is canceled at once; an order in the matcher becomes
    ``pending_cancel`` and the matcher's answer finishes it."""
    with transaction.atomic():
        order = _locked_order(order)
        if order.status == OrderStatus.HELD:
            order.transition_to(OrderStatus.CANCELED)
            order.canceled_at = timezone.now()
            release_reservation(order)
            order.save()
            RiskAlert.objects.filter(order=order, status="open").update(status="closed")
        elif order.status in _LIVE_IN_ENGINE:
            order.transition_to(OrderStatus.PENDING_CANCEL)
            order.save()
            _publish_after_commit(order, lambda: cancel_command(order, ts_ns=_now_ns()))
        elif order.status == OrderStatus.PENDING_CANCEL:
            return order
        else:
            raise Conflict(
                "order_not_cancelable", f"An order that is {order.status} cannot be canceled."
            )
        audit_record(
            action="order.cancel_requested",
            obj=order,
            account_id=order.account_id,
            changes={"status": order.status},
            **_actor_fields(actor, actor_label, source),
        )
    return order


def orders_cancel_all(
    *,
    account: Account,
    source: str = OrderSource.API,
    actor: AbstractBaseUser | None = None,
    actor_label: str | None = None,
) -> list[Order]:
    """Cancel every open order of the account; returns the orders a cancel was asked for."""
    cancellable = {OrderStatus.HELD, *_LIVE_IN_ENGINE}
    orders = list(Order.objects.filter(account=account, status__in=cancellable).order_by("pk"))
    return [
        order_cancel(order=o, source=source, actor=actor, actor_label=actor_label) for o in orders
    ]


def order_replace(
    *,
    order: Order,
    quantity: Decimal | None = None,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
    time_in_force: str | None = None,
    client_order_id: str | None = None,
    source: str = OrderSource.API,
    actor: AbstractBaseUser | None = None,
    actor_label: str | None = None,
) -> Order:
    """Cancel/replace: a new order (``pending_new``) takes the old one's place when the matcher
    confirms; the old one waits as ``pending_replace``. Risk is re-checked on the difference."""
    with transaction.atomic():
        cash = _locked_cash(order.account)
        old = _locked_order(order)
        if old.status not in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
            raise Conflict(
                "order_not_replaceable", f"An order that is {old.status} cannot be replaced."
            )
        if time_in_force is not None and time_in_force != old.time_in_force:
            raise ValidationFailed(
                "tif_change_not_supported",
                "Cancel and re-enter to change the time in force.",
                field="time_in_force",
            )
        new_quantity = quantity if quantity is not None else old.quantity
        new_limit = limit_price if limit_price is not None else old.limit_price
        new_stop = stop_price if stop_price is not None else old.stop_price
        instrument = old.instrument
        check_order_shape(
            instrument=instrument,
            order_type=old.order_type,
            time_in_force=old.time_in_force,
            quantity=new_quantity,
            limit_price=new_limit,
            stop_price=new_stop,
            display_quantity=old.display_quantity
            if old.display_quantity and old.display_quantity < new_quantity
            else None,
            hidden=old.hidden,
            post_only=old.post_only,
            expire_at=old.expire_at,
        )
        if new_quantity <= old.filled_quantity:
            raise ValidationFailed(
                "replace_below_filled",
                "The new quantity must exceed the filled quantity.",
                field="qty",
            )
        leaves = new_quantity - old.filled_quantity
        # Risk on the replacement's open part, with the old order's reservation counted as free.
        cash.reserved -= old.reserved_amount
        decision = pretrade_check(
            account=old.account,
            instrument=instrument,
            side=old.side,
            order_type=old.order_type,
            quantity=leaves,
            limit_price=new_limit,
            cash=cash,
        )
        new = Order.objects.create(
            account=old.account,
            instrument=instrument,
            client_order_id=client_order_id or str(uuid.uuid4()),
            side=old.side,
            order_type=old.order_type,
            time_in_force=old.time_in_force,
            quantity=new_quantity,
            filled_quantity=old.filled_quantity,
            average_fill_price=old.average_fill_price,
            limit_price=new_limit,
            stop_price=new_stop,
            display_quantity=old.display_quantity
            if old.display_quantity and old.display_quantity < leaves
            else None,
            hidden=old.hidden,
            post_only=old.post_only,
            expire_at=old.expire_at,
            self_trade_prevention=old.self_trade_prevention,
            source=source,
            replaces=old,
            status=OrderStatus.PENDING_NEW,
            submitted_at=timezone.now(),
            reserved_amount=decision.reservation,
        )
        CashBalance.objects.filter(pk=cash.pk).update(reserved=F("reserved") + decision.reservation)
        old.transition_to(OrderStatus.PENDING_REPLACE)
        old.save()
        audit_record(
            action="order.replace_requested",
            obj=old,
            account_id=old.account_id,
            changes={
                "new_order": new.pk,
                "qty": new_quantity,
                "limit_price": new_limit,
                "stop_price": new_stop,
            },
            **_actor_fields(actor, actor_label, source),
        )
        transaction.on_commit(
            lambda: publish_commands(
                instrument.shard,
                [
                    replace_command(
                        old,
                        new_order_id=str(new.pk),
                        quantity=new_quantity,
                        limit_price=new_limit,
                        stop_price=new_stop,
                        ts_ns=_now_ns(),
                    )
                ],
            )
        )
    return new


def order_approve_held(*, order: Order, actor: AbstractBaseUser) -> Order:
    """A risk manager lets a held order go on to the matcher."""
    with transaction.atomic():
        order = _locked_order(order)
        order.transition_to(OrderStatus.PENDING_NEW)
        order.save()
        RiskAlert.objects.filter(order=order, status="open").update(
            status="approved", decided_by=actor, decided_at=timezone.now()
        )
        audit_record(action="order.approved", obj=order, actor=actor, account_id=order.account_id)
        _publish_after_commit(order, lambda: new_order_command(order, ts_ns=_now_ns()))
    return order


def order_refuse_held(*, order: Order, actor: AbstractBaseUser, reason: str = "") -> Order:
    """A risk manager refuses a held order: it is rejected and its reservation released."""
    with transaction.atomic():
        order = _locked_order(order)
        order.transition_to(OrderStatus.REJECTED)
        order.reject_reason = "refused_by_risk"
        order.reject_message = (reason or "Refused by a risk manager.")[:300]
        order.rejected_at = timezone.now()
        release_reservation(order)
        order.save()
        RiskAlert.objects.filter(order=order, status="open").update(
            status="refused", decided_by=actor, decided_at=timezone.now()
        )
        audit_record(
            action="order.refused",
            obj=order,
            actor=actor,
            account_id=order.account_id,
            changes={"reason": reason},
        )
    return order


def position_close(
    *,
    account: Account,
    instrument: Instrument,
    quantity: Decimal | None = None,
    percentage: Decimal | None = None,
    source: str = OrderSource.API,
    actor: AbstractBaseUser | None = None,
    actor_label: str | None = None,
) -> Order:
    """A market order that flattens (all, a quantity or a percentage of) the position."""
    position = (
        Position.objects.filter(account=account, instrument=instrument).exclude(quantity=0).first()
    )
    if position is None:
        raise ValidationFailed("no_position", f"There is no open position in {instrument.symbol}.")
    held = abs(position.quantity)
    if percentage is not None:
        if not 0 < percentage <= 100:
            raise ValidationFailed(
                "invalid_percentage", "Percentage must be above 0 and at most 100."
            )
        lots = (held * percentage / 100 / instrument.lot_size).to_integral_value(
            rounding=ROUND_DOWN
        )
        quantity = lots * instrument.lot_size
    quantity = held if quantity is None else quantity
    if quantity <= 0 or quantity > held:
        raise ValidationFailed(
            "invalid_quantity", f"Close between 0 and {plain(held)}.", field="qty"
        )
    tif = TimeInForce.GTC if instrument.venue.is_24x7 else TimeInForce.DAY
    return order_submit(
        account=account,
        instrument=instrument,
        side=Side.SELL if position.quantity > 0 else Side.BUY,
        order_type=OrderType.MARKET,
        time_in_force=tif,
        quantity=quantity,
        source=source,
        actor=actor,
        actor_label=actor_label,
    )


def orders_resend_stale(*, older_than: dt.timedelta = dt.timedelta(seconds=5)) -> int:
    """Publish again every order still ``pending_new`` (or awaiting a cancel's answer) after
    ``older_than``: a publish lost between commit and XADD is recovered, and the engine drops
    duplicates by order id, so a resend can never double an order."""
    cutoff = timezone.now() - older_than
    stale = Order.objects.filter(updated_at__lt=cutoff).select_related("instrument")
    by_shard: dict[int, list[tuple]] = {}
    ts = _now_ns()
    for order in stale.filter(status=OrderStatus.PENDING_NEW, replaces__isnull=True):
        by_shard.setdefault(order.instrument.shard, []).append(new_order_command(order, ts_ns=ts))
    for order in stale.filter(status=OrderStatus.PENDING_CANCEL):
        by_shard.setdefault(order.instrument.shard, []).append(cancel_command(order, ts_ns=ts))
    for shard, commands in by_shard.items():
        publish_commands(shard, commands)
    return sum(len(c) for c in by_shard.values())
