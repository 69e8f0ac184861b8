"""Pre-trade risk in the spirit of SEC Rule 15c3-5: every order passes here before it can reach
the matcher. Hard breaches raise ``OrderRejected`` with a stable code; a soft breach returns a hold
reason, and the order waits in ``held`` for a risk manager.

Should be called while holding a SELECT FOR UPDATE lock on the account's cash balance row, so two
orders of one account can never both spend the same buying power.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from apps.clients.choices import AccountType, AssetClass
from apps.clients.models import Account
from apps.common.decimals import plain
from apps.common.errors import DomainError
from apps.common.rows import execute_sent
from apps.instruments.models import Instrument
from apps.matching.transport import redis_client
from apps.orders.choices import OPEN_STATUSES, OrderType, Side
from apps.orders.models import Order
from apps.positions.models import CashBalance, Position
from apps.risk.models import KillSwitch, Locate

# Market orders and stops are priced for buying power at the reference price plus this cushion.
MARKET_ORDER_CUSHION = Decimal("0.05")
# A limit price this far (percent) from the reference price, yet inside the band, is held.
PRICE_COLLAR_PERCENT = Decimal(5)
REG_T_INITIAL = Decimal("0.50")
SHORT_OPTION_UNDERLYING_RATE = Decimal("0.20")


class OrderRejected(DomainError):
    """The order was refused; ``order`` is the rejected order as recorded, when there is one."""

    http_status = 403

    def __init__(
        self,
        code: str,
        message: str,
        *,
        order: Order | None = None,
        field: str | None = None,
        details: dict[str, str] | None = None,
    ):
        super().__init__(code, message, field=field, details=details)
        self.order = order


@dataclass(frozen=True, slots=True)
class RiskDecision:
    reservation: Decimal
    hold_code: str = ""
    hold_message: str = ""


@dataclass(frozen=True, slots=True)
class PretradeSnapshot:
    """What the checks read from the database about one order's account and instrument, taken
    in one statement by ``pretrade_snapshot``."""

    kill_switch_id: int | None  # an engaged switch for the firm, the client or the account
    restricted: bool  # the instrument is on the restricted list, firm-wide or for the client
    held: Decimal  # the account's position in the instrument, signed
    pending: Decimal  # open quantity of the account's orders in the instrument on this side
    realized_today: Decimal | None  # net realized P&L since midnight UTC, when a limit needs it
    # (instrument id, quantity, average cost) of every open position, for a margin account
    # (its buying power marks them); None for a cash account.
    positions: list[tuple[int, Decimal, Decimal]] | None = None


# One statement for every fact the checks read (see ``pretrade_snapshot``). Hand-written: it
# runs on every order, and building it with the ORM cost 20 times the CPU of running it.
# Each scalar subquery is the ORM query it replaces: the engaged kill switch that applies
# (account before client before firm, as ``order_by("scope")`` put them), the restricted list
# (firm-wide or for this client), the position, the open quantity on the order's side, and
# for a margin account every open position (``account_equity``'s query).
_SNAPSHOT_SQL = """
SELECT
    (SELECT ks.id FROM risk_killswitch ks
      WHERE ks.active
        AND (ks.scope = 'firm'
             OR (ks.scope = 'client' AND ks.client_id = %(client)s)
             OR (ks.scope = 'account' AND ks.account_id = %(account)s))
      ORDER BY ks.scope LIMIT 1),
    EXISTS (SELECT 1 FROM compliance_restrictedinstrument r
             WHERE r.instrument_id = %(instrument)s AND r.active
               AND (r.client_id IS NULL OR r.client_id = %(client)s)),
    COALESCE((SELECT p.quantity FROM positions_position p
               WHERE p.account_id = %(account)s AND p.instrument_id = %(instrument)s), 0),
    COALESCE((SELECT SUM(o.quantity - o.filled_quantity) FROM orders_order o
               WHERE o.account_id = %(account)s AND o.instrument_id = %(instrument)s
                 AND o.side = %(side)s AND o.status IN ({open_statuses})), 0),
    CASE WHEN %(with_realized)s THEN
        (SELECT COALESCE(SUM(e.realized_pnl - e.commission - e.regulatory_fees), 0)
           FROM orders_execution e
          WHERE e.account_id = %(account)s AND e.executed_at >= %(midnight)s)
    END,
    CASE WHEN %(with_positions)s THEN
        (SELECT COALESCE(array_agg(ARRAY[p.instrument_id, p.quantity, p.average_cost]), '{}')
           FROM positions_position p
          WHERE p.account_id = %(account)s AND p.quantity <> 0)
    END
""".replace(
    # The open statuses as literals, not a parameter: so the planner sees the statement match
    # the partial index ``order_open_quantity`` even in a prepared statement's generic plan.
    "{open_statuses}",
    ", ".join(f"'{status}'" for status in sorted(OPEN_STATUSES)),
)


def pretrade_snapshot(*, account: Account, instrument: Instrument, side: str) -> PretradeSnapshot:
    """Read everything the checks need in one round trip: each check used to be a query of its
    own (kill switches, restricted list, position, open orders, and the realized P&L of today
    when the account has a daily loss limit).

    Call it after locking the account's cash row: in READ COMMITTED each statement sees what
    was committed when it started, so the open orders and position read here include those of
    any order of the account that held the lock before us.
    """
    return pretrade_snapshot_sent(account=account, instrument=instrument, side=side)()


def pretrade_snapshot_sent(
    *, account: Account, instrument: Instrument, side: str
) -> Callable[[], PretradeSnapshot]:
    """``pretrade_snapshot``'s statement, sent now; calling the result reads it. Sent right
    after the cash row's lock, inside ``rows.pipeline()``, the two cost one round trip, and the
    snapshot still starts once the lock is granted."""
    limits = getattr(account, "risk_limit", None)
    with_realized = limits is not None and limits.daily_loss_limit is not None
    params = {
        "account": account.pk,
        "client": account.client_id,
        "instrument": instrument.pk,
        "side": side,
        "with_realized": with_realized,
        "midnight": timezone.now().replace(hour=0, minute=0, second=0, microsecond=0),
        "with_positions": account.account_type != AccountType.CASH,
    }
    read_rows = execute_sent(_SNAPSHOT_SQL, params)

    def read() -> PretradeSnapshot:
        [(kill_switch_id, restricted, held, pending, realized, positions)] = read_rows()
        return PretradeSnapshot(
            kill_switch_id=kill_switch_id,
            restricted=restricted,
            held=Decimal(held),
            pending=Decimal(pending),
            realized_today=Decimal(realized) if with_realized else None,
            positions=None
            if positions is None
            else [(int(instrument), quantity, cost) for instrument, quantity, cost in positions],
        )

    return read


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"))


def check_kill_switches(kill_switch_id: int | None) -> None:
    """Refuse the order while a kill switch for the firm, its client or its account is engaged
    (``PretradeSnapshot.kill_switch_id``)."""
    if kill_switch_id is None:
        return
    switch = KillSwitch.objects.get(pk=kill_switch_id)
    raise OrderRejected(
        "kill_switch_active",
        f"Trading is stopped ({switch.get_scope_display()}): {switch.reason}",
    )


# One round trip: count this order in the account's current second, starting the counter's
# two-second life with the first order (a pipeline of INCR and EXPIRE cost twice the Python).
_COUNT_IN_SECOND = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], 2) end
return count
"""
_count_in_second = None


def check_order_rate(account: Account) -> None:
    """Per-account orders per second, counted in Redis so every web worker shares the count."""
    global _count_in_second
    limit = account.risk_limit.max_orders_per_second if hasattr(account, "risk_limit") else None
    if not limit:
        return
    second = int(timezone.now().timestamp())
    key = f"{settings.ENGINE_STREAM_PREFIX}:rate:{account.pk}:{second}"
    if _count_in_second is None:
        _count_in_second = redis_client().register_script(_COUNT_IN_SECOND)
    if _count_in_second(keys=[key]) > limit:
        raise OrderRejected(
            "order_rate_exceeded", f"At most {limit} orders per second for this account."
        )


def requirement_rate(account: Account, instrument: Instrument) -> Decimal:
    """Share of notional that must be covered: Reg T 50% for marginable securities in a margin
    account, everything otherwise."""
    if account.account_type == AccountType.MARGIN and instrument.marginable:
        return REG_T_INITIAL
    return Decimal(1)


def position_requirement(
    account: Account, instrument: Instrument, quantity: Decimal, price: Decimal
) -> Decimal:
    """Initial requirement of holding ``quantity`` (signed) at ``price``."""
    if quantity == 0:
        return Decimal(0)
    if instrument.asset_class == AssetClass.FUTURE:
        return abs(quantity) * (instrument.initial_margin or Decimal(0))
    notional = abs(quantity) * price * instrument.multiplier
    if instrument.asset_class == AssetClass.OPTION and quantity < 0:
        underlying = instrument.strike_price or price
        return (
            notional
            + abs(quantity) * underlying * instrument.multiplier * SHORT_OPTION_UNDERLYING_RATE
        )
    if quantity < 0:
        # Reg T short sale: 150% of proceeds, of which the proceeds themselves cover 100%.
        return notional * REG_T_INITIAL
    return notional * requirement_rate(account, instrument)


def account_equity(
    account: Account,
    currency: str,
    *,
    cash: CashBalance | None = None,
    positions: list[tuple[int, Decimal, Decimal]] | None = None,
) -> tuple[Decimal, Decimal]:
    """(equity, initial requirement of current positions), marked at reference prices. Pass
    ``cash`` when the caller already holds the account's cash row in ``currency``, and
    ``positions`` (``PretradeSnapshot.positions``) when it has read them."""
    if cash is None:
        cash = CashBalance.objects.filter(account=account, currency=currency).first()
    if positions is None:
        positions = list(
            Position.objects.filter(account=account)
            .exclude(quantity=0)
            .values_list("instrument_id", "quantity", "average_cost")
        )
    equity = cash.total if cash else Decimal(0)
    requirement = Decimal(0)
    instruments = Instrument.objects.in_bulk([instrument_id for instrument_id, _, _ in positions])
    for instrument_id, quantity, average_cost in positions:
        instrument = instruments[instrument_id]
        mark = instrument.reference_price or average_cost
        if instrument.asset_class != AssetClass.FUTURE:
            equity += quantity * mark * instrument.multiplier
        requirement += position_requirement(account, instrument, quantity, mark)
    return equity, requirement


def buying_power(
    account: Account, cash: CashBalance, *, equity: tuple[Decimal, Decimal] | None = None
) -> Decimal:
    """What a new order may still commit. Cash account: settled cash, less unsettled purchases and
    open reservations. Margin account: equity less the requirement of what it holds and open
    reservations (each reservation is already the requirement of its order). ``equity`` is
    ``account_equity``'s answer, when the caller has it already."""
    if account.account_type == AccountType.CASH:
        return cash.settled + min(cash.unsettled, Decimal(0)) - cash.reserved
    equity_now, requirement = equity or account_equity(account, cash.currency, cash=cash)
    return equity_now - requirement - cash.reserved


def pretrade_check(
    *,
    account: Account,
    instrument: Instrument,
    side: str,
    order_type: str,
    quantity: Decimal,
    limit_price: Decimal | None,
    cash: CashBalance,
    snapshot: PretradeSnapshot | None = None,
) -> RiskDecision:
    """Run every pre-trade control in order; return the cash to reserve and any soft hold.

    ``snapshot`` is ``pretrade_snapshot`` for this account, instrument and side, read after the
    cash row was locked; without it, it is read here.
    """
    if snapshot is None:
        snapshot = pretrade_snapshot(account=account, instrument=instrument, side=side)
    check_kill_switches(snapshot.kill_switch_id)
    check_order_rate(account)
    limits = getattr(account, "risk_limit", None)
    reference = instrument.reference_price
    if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        risk_price = limit_price
    elif reference is not None:
        cushion = 1 + MARKET_ORDER_CUSHION if side == Side.BUY else 1 - MARKET_ORDER_CUSHION
        risk_price = reference * cushion
    else:
        raise OrderRejected(
            "no_reference_price",
            f"{instrument.symbol} has no reference price for a market order yet.",
        )
    notional = quantity * risk_price * instrument.multiplier

    if limits is not None:
        if limits.max_order_quantity is not None and quantity > limits.max_order_quantity:
            raise OrderRejected(
                "max_order_quantity_exceeded",
                f"Orders are limited to {plain(limits.max_order_quantity)} units.",
                field="qty",
            )
        if limits.max_order_notional is not None and notional > limits.max_order_notional:
            raise OrderRejected(
                "max_order_notional_exceeded",
                f"Orders are limited to {plain(limits.max_order_notional)} "
                f"{account.base_currency} notional.",
            )

    held = snapshot.held
    signed = quantity if side == Side.BUY else -quantity
    reduces_position = held != 0 and (held > 0) != (signed > 0) and quantity <= abs(held)
    if limits is not None and limits.daily_loss_limit is not None and not reduces_position:
        loss = -snapshot.realized_today
        if loss >= limits.daily_loss_limit:
            raise OrderRejected(
                "daily_loss_limit_reached",
                f"Today's realized loss of {_cents(loss)} {account.base_currency} reached "
                f"the daily limit of {plain(limits.daily_loss_limit)}: "
                "only orders that reduce a position.",
            )
    # Worst case for the position: this order plus every open order on the same side fills.
    pending = snapshot.pending
    worst = held + signed + (pending if side == Side.BUY else -pending)
    if (
        limits is not None
        and limits.max_position_quantity is not None
        and abs(worst) > limits.max_position_quantity
    ):
        raise OrderRejected(
            "max_position_exceeded",
            f"The position in {instrument.symbol} would exceed "
            f"{plain(limits.max_position_quantity)}.",
        )

    reservation = Decimal(0)
    if side == Side.SELL:
        available = max(held - pending, Decimal(0))
        short_quantity = max(quantity - available, Decimal(0))
        if short_quantity > 0:
            if held > 0 and not may_sell_short(account):
                raise insufficient_quantity(instrument, quantity, held, pending)
            check_short_sale(account, instrument, short_quantity)
            reservation = position_requirement(account, instrument, -short_quantity, risk_price)
    else:
        covering = min(max(-held, Decimal(0)), quantity)  # buying back a short needs no new cash
        opening = quantity - covering
        if instrument.asset_class == AssetClass.FUTURE:
            reservation = position_requirement(account, instrument, opening, risk_price)
        else:
            reservation = (
                opening * risk_price * instrument.multiplier * requirement_rate(account, instrument)
            )
            reservation += covering * risk_price * instrument.multiplier
    # Margin accounts mark their positions for buying power and concentration: once per order.
    equity: tuple[Decimal, Decimal] | None = None
    if reservation > 0:
        if account.account_type != AccountType.CASH:
            equity = _marked_equity(account, cash, snapshot)
        available_power = buying_power(account, cash, equity=equity)
        if reservation > available_power:
            raise OrderRejected(
                "insufficient_buying_power",
                f"Insufficient buying power: the order needs {_cents(reservation)} "
                f"{cash.currency}, "
                f"{_cents(max(available_power, Decimal(0)))} is available.",
            )

    if limits is not None and limits.max_concentration_percent is not None and not reduces_position:
        equity_now, _ = equity or _marked_equity(account, cash, snapshot)
        exposure = abs(worst) * risk_price * instrument.multiplier
        if equity_now <= 0 or exposure * 100 > equity_now * limits.max_concentration_percent:
            return RiskDecision(
                reservation,
                "concentration",
                f"{instrument.symbol} would be more than "
                f"{plain(limits.max_concentration_percent)}% of the account's equity: "
                "held for a risk manager.",
            )
    if (
        limit_price is not None
        and reference is not None
        and order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    ):
        deviation = abs(limit_price - reference) / reference * 100
        aggressive = (side == Side.BUY and limit_price > reference) or (
            side == Side.SELL and limit_price < reference
        )
        if aggressive and deviation > PRICE_COLLAR_PERCENT:
            return RiskDecision(
                reservation,
                "price_collar",
                f"Limit {plain(limit_price)} is {deviation.quantize(Decimal('0.1'))}% "
                f"through the reference "
                f"price {plain(reference)}: held for a risk manager.",
            )
    return RiskDecision(reservation)


def _marked_equity(
    account: Account, cash: CashBalance, snapshot: PretradeSnapshot
) -> tuple[Decimal, Decimal]:
    return account_equity(account, cash.currency, cash=cash, positions=snapshot.positions)


def may_sell_short(account: Account) -> bool:
    """A margin account with short permission."""
    permissions = getattr(account, "permissions", None)
    return (
        account.account_type == AccountType.MARGIN
        and permissions is not None
        and permissions.short_selling
    )


def insufficient_quantity(
    instrument: Instrument, requested: Decimal, held: Decimal, held_for_orders: Decimal
) -> OrderRejected:
    """A sale of more than the long position leaves free (what open sells do not hold yet), by an
    account that may not go short: Alpaca's refusal, with its figures (``existing_qty``,
    ``held_for_orders``, ``available``), so a client sees what it may sell, or that a cancel it
    asked for has not been answered yet."""
    available = max(held - held_for_orders, Decimal(0))
    return OrderRejected(
        "insufficient_qty",
        f"insufficient qty available for order (requested: {plain(requested)}, "
        f"available: {plain(available)})",
        details={
            "symbol": instrument.symbol,
            "existing_qty": plain(held),
            "held_for_orders": plain(min(held_for_orders, held)),
            "available": plain(available),
        },
    )


def check_short_sale(account: Account, instrument: Instrument, quantity: Decimal) -> None:
    """A short sale needs a margin account with short permission, a shortable instrument and a
    borrow: the easy-to-borrow list or an unexpired locate that covers the quantity."""
    if not may_sell_short(account):
        raise OrderRejected(
            "short_selling_not_permitted",
            "This account may not sell short; sell only what it holds.",
        )
    if not instrument.shortable:
        raise OrderRejected("not_shortable", f"{instrument.symbol} cannot be sold short.")
    if instrument.easy_to_borrow:
        return
    locate = (
        Locate.objects.select_for_update()
        .filter(account=account, instrument=instrument, expires_at__gt=timezone.now())
        .filter(quantity__gte=F("used_quantity") + quantity)
        .first()
    )
    if locate is None:
        raise OrderRejected(
            "no_locate", f"A short sale of {instrument.symbol} needs a locate first."
        )
    Locate.objects.filter(pk=locate.pk).update(used_quantity=F("used_quantity") + quantity)
