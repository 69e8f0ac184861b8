"""Reads of the trader's desk: what one account's desk shows, in a fixed number of queries.

Marks for P&L and the watchlist are the last trade on our venue, else the instrument's reference
price; the live figures then arrive over the market-data WebSocket and desk.js updates them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from apps.clients.models import Account
from apps.clients.selectors import accounts_tradable_by
from apps.instruments.models import Instrument
from apps.orders.choices import Side
from apps.orders.models import Execution
from apps.positions.models import CashBalance, Position, Posting
from apps.risk.pretrade import buying_power

SEARCH_LIMIT = 20


def desk_accounts(*, user: AbstractBaseUser) -> QuerySet[Account]:
    """The accounts the user may trade, for the account switcher."""
    return accounts_tradable_by(user).select_related("client").order_by("number")


def desk_account(*, user: AbstractBaseUser, account_id: object) -> Account | None:
    """One account the user may trade, or None (callers answer 404 either way)."""
    return desk_accounts(user=user).filter(pk=account_id).first()


def last_trade_prices(instrument_ids: Iterable[int]) -> dict[int, Decimal]:
    """The last execution price per instrument, in one query (DISTINCT ON)."""
    ids = list(instrument_ids)
    if not ids:
        return {}
    rows = (
        Execution.objects.filter(instrument_id__in=ids)
        # One command's trades share its timestamp; the engine sequence orders them.
        .order_by("instrument_id", "-executed_at", "-engine_sequence")
        .distinct("instrument_id")
        .values_list("instrument_id", "price")
    )
    return dict(rows)


@dataclass(frozen=True, slots=True)
class WatchRow:
    instrument: Instrument
    last: Decimal | None
    prev_close: Decimal | None

    @property
    def change_pct(self) -> Decimal | None:
        if self.last is None or not self.prev_close:
            return None
        return ((self.last - self.prev_close) / self.prev_close * 100).quantize(Decimal("0.01"))


def watchlist_rows(*, symbols: list[str]) -> list[WatchRow]:
    """Watchlist instruments in the trader's order, with the last price and the previous close
    (the reference price until the market-data feed says otherwise)."""
    instruments_qs = Instrument.objects.filter(symbol__in=symbols).select_related("venue")
    by_symbol = {i.symbol: i for i in instruments_qs}
    instruments = [by_symbol[s] for s in symbols if s in by_symbol]
    lasts = last_trade_prices(i.pk for i in instruments)
    return [
        WatchRow(
            instrument=i,
            last=lasts.get(i.pk, i.reference_price),
            prev_close=i.reference_price,
        )
        for i in instruments
    ]


def instrument_search(*, query: str) -> QuerySet[Instrument]:
    query = query.strip()
    if not query:
        return Instrument.objects.none()
    return Instrument.objects.filter(tradable=True).filter(
        Q(symbol__istartswith=query) | Q(name__icontains=query)
    )[:SEARCH_LIMIT]


@dataclass(frozen=True, slots=True)
class PositionRow:
    position: Position
    mark: Decimal

    @property
    def market_value(self) -> Decimal:
        p = self.position
        return p.quantity * self.mark * p.instrument.multiplier

    @property
    def unrealized_pnl(self) -> Decimal:
        p = self.position
        return ((self.mark - p.average_cost) * p.quantity * p.instrument.multiplier).quantize(
            Decimal("0.01")
        )


def position_rows(*, account: Account) -> list[PositionRow]:
    """Open positions marked at the last trade, else the reference price, else their cost."""
    positions = list(
        Position.objects.filter(account=account).exclude(quantity=0).select_related("instrument")
    )
    lasts = last_trade_prices(p.instrument_id for p in positions)
    return [
        PositionRow(
            position=p,
            mark=lasts.get(p.instrument_id) or p.instrument.reference_price or p.average_cost,
        )
        for p in positions
    ]


@dataclass(frozen=True, slots=True)
class Balances:
    cash: CashBalance
    buying_power: Decimal


def account_balances(*, account: Account) -> Balances:
    """The base-currency cash balance and what a new order may still commit."""
    cash = CashBalance.objects.filter(account=account, currency=account.base_currency).first()
    if cash is None:
        cash = CashBalance(account=account, currency=account.base_currency)
    return Balances(cash=cash, buying_power=buying_power(account, cash))


def account_activity(*, account: Account, limit: int = 50) -> QuerySet[Posting]:
    """The account's ledger postings, newest first: deposits, trades, fees, settlements."""
    return (
        Posting.objects.filter(ledger_account__account=account)
        .select_related("journal", "ledger_account")
        .order_by("-journal__created_at", "-pk")[:limit]
    )


@dataclass(frozen=True, slots=True)
class Bar:
    t: int
    o: Decimal
    h: Decimal
    l: Decimal  # noqa: E741  (the OHLC letter every chart library uses)
    c: Decimal
    v: Decimal


def chart_bars(*, instrument: Instrument, since: dt.datetime, limit: int = 1440) -> list[Bar]:
    """The chart's first one-minute bars: the market-data app's bars, or, while nothing has
    recorded any yet (its applier hook), bars built from the executions themselves."""
    from apps.marketdata.selectors import bars as marketdata_bars

    rows = marketdata_bars([instrument.symbol], timeframe="1Min", start=since, limit=limit)
    if rows:
        return [
            Bar(
                int(r["start"].timestamp()),
                r["open"],
                r["high"],
                r["low"],
                r["close"],
                r["volume"],
            )
            for r in rows
        ]
    return minute_bars_from_executions(instrument=instrument, since=since, limit=limit * 5)


def minute_bars_from_executions(
    *, instrument: Instrument, since: dt.datetime, limit: int = 5000
) -> list[Bar]:
    """One-minute bars built from our venue's trades (the buy side of each execution pair).

    The desk's chart uses this until the market-data app serves bars of its own.
    """
    rows = list(
        Execution.objects.filter(instrument=instrument, side=Side.BUY, executed_at__gte=since)
        .order_by("executed_at", "engine_sequence")
        .values_list("executed_at", "price", "quantity")[:limit]
    )
    bars: list[Bar] = []
    for executed_at, price, quantity in rows:
        minute = int(executed_at.timestamp()) // 60 * 60
        if bars and bars[-1].t == minute:
            last = bars[-1]
            bars[-1] = Bar(
                minute, last.o, max(last.h, price), min(last.l, price), price, last.v + quantity
            )
        else:
            bars.append(Bar(minute, price, price, price, price, quantity))
    return bars
