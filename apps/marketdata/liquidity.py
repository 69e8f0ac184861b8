"""Demo liquidity: a market maker quoting both sides around the reference price and a few noise
traders taking liquidity, all through the order service like every other client (source
``system``), so the demo exercises the same risk checks, applier and ledger as real orders.

The market maker is the seeded "Meridian Market Making LLC" account (DEMO0005, no order rate
limit, inventory in every equity, ETF and crypto). The noise traders are the seeded demo
accounts of Blue Harbor (DEMO0004). Rates are modest on purpose (each symbol is requoted every
1-3 s) so two cores are not spent on demo traffic. On by default in ``make run``;
``DEMO_LIQUIDITY=0`` turns it off; tests only run it when they ask.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from apps.clients.models import Account
from apps.common.errors import DomainError
from apps.instruments.models import Instrument
from apps.matching.scheduler import venue_phases
from apps.orders.choices import OrderSource, OrderStatus, OrderType, Side, TimeInForce
from apps.orders.models import Order
from apps.orders.services import order_cancel, order_replace, order_submit
from apps.positions.models import Position

logger = logging.getLogger(__name__)

MARKET_MAKER_ACCOUNT = "DEMO0005"
NOISE_ACCOUNTS = ("DEMO0004",)
QUOTED_CLASSES = ("equity", "etf", "crypto")
HALF_SPREAD_BP = Decimal(5)  # quotes 5 bp either side of the reference price
ACTOR = "marketdata:demo-liquidity"
LIVE = (OrderStatus.PENDING_NEW, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


@dataclass
class QuotePair:
    bid: Order | None = None
    ask: Order | None = None
    next_at: float = 0.0
    backoff_until: float = 0.0


@dataclass
class DemoLiquidity:
    maker: Account
    takers: list[Account]
    instruments: list[Instrument]
    seed: int | None = None
    requote_seconds: tuple[float, float] = (1.0, 3.0)
    noise_every: float = 2.0
    state: dict[str, QuotePair] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.next_noise = 0.0
        self.phases: dict[int, str] = {}
        self.phases_at = float("-inf")

    def _open_instruments(self, now: float) -> list[Instrument]:
        """Instruments whose venue is in continuous trading now: a market maker does not quote
        into a closed market (the calendar is re-read every few seconds)."""
        if now - self.phases_at > 5:
            self.phases = venue_phases(dt.datetime.now(dt.UTC))
            self.phases_at = now
        return [i for i in self.instruments if self.phases.get(i.venue_id) == "continuous"]

    def _size(self, instrument: Instrument) -> Decimal:
        if instrument.asset_class == "crypto":
            return instrument.lot_size * self.rng.choice([10, 20, 50])
        return instrument.lot_size * self.rng.choice([100, 200, 300, 500])

    def _prices(self, instrument: Instrument) -> tuple[Decimal, Decimal] | None:
        ref = instrument.reference_price
        if ref is None:
            return None
        tick = instrument.tick_size
        half = max(ref * HALF_SPREAD_BP / Decimal(10_000), tick)
        bid = ((ref - half) / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
        ask = ((ref + half) / tick).to_integral_value(rounding=ROUND_CEILING) * tick
        return (bid, ask) if bid > 0 else None

    def _requote(self, instrument: Instrument, pair: QuotePair) -> None:
        prices = self._prices(instrument)
        if prices is None:
            return
        for side, price in zip((Side.BUY, Side.SELL), prices, strict=True):
            attr = "bid" if side == Side.BUY else "ask"
            order = getattr(pair, attr)
            if order is not None:
                order.refresh_from_db(fields=["status", "limit_price", "quantity"])
            try:
                if order is not None and order.status in (
                    OrderStatus.NEW,
                    OrderStatus.PARTIALLY_FILLED,
                ):
                    if order.limit_price != price:
                        setattr(
                            pair,
                            attr,
                            order_replace(
                                order=order,
                                limit_price=price,
                                source=OrderSource.SYSTEM,
                                actor_label=ACTOR,
                            ),
                        )
                elif order is None or order.status not in LIVE:
                    setattr(
                        pair,
                        attr,
                        order_submit(
                            account=self.maker,
                            instrument=instrument,
                            side=side,
                            order_type=OrderType.LIMIT,
                            time_in_force=TimeInForce.GTC,
                            quantity=self._size(instrument),
                            limit_price=price,
                            source=OrderSource.SYSTEM,
                            actor_label=ACTOR,
                        ),
                    )
            except DomainError as exc:
                # Closed session, band, buying power: wait a while before trying again, so a
                # closed market does not fill the order table with rejections.
                pair.backoff_until = time.monotonic() + 30
                setattr(pair, attr, None)
                logger.info("demo maker %s %s: %s", instrument.symbol, side, exc)

    def _noise(self, open_instruments: list[Instrument]) -> None:
        if not open_instruments or not self.takers:
            return
        instrument = self.rng.choice(open_instruments)
        prices = self._prices(instrument)
        if prices is None:
            return
        account = self.rng.choice(self.takers)
        bid, ask = prices
        size = instrument.lot_size * (1 if instrument.asset_class == "crypto" else 10)
        held = (
            Position.objects.filter(account=account, instrument=instrument)
            .values_list("quantity", flat=True)
            .first()
        ) or Decimal(0)
        # A noise trader sells only what it holds: it is a client, not a short seller.
        side = self.rng.choice([Side.BUY, Side.SELL]) if held >= size * 5 else Side.BUY
        try:
            order_submit(
                account=account,
                instrument=instrument,
                side=side,
                order_type=OrderType.LIMIT,
                time_in_force=TimeInForce.IOC,
                quantity=size * self.rng.randint(1, 5),
                limit_price=ask if side == Side.BUY else bid,
                source=OrderSource.SYSTEM,
                actor_label=ACTOR,
            )
        except DomainError as exc:
            logger.info("demo noise trader %s: %s", instrument.symbol, exc)

    def step(self, now: float | None = None) -> None:
        """Requote the symbols that are due, maybe send one noise order."""
        now = time.monotonic() if now is None else now
        open_instruments = self._open_instruments(now)
        for instrument in open_instruments:
            pair = self.state.setdefault(instrument.symbol, QuotePair())
            if now < pair.next_at or now < pair.backoff_until:
                continue
            instrument.refresh_from_db(fields=["reference_price"])
            self._requote(instrument, pair)
            pair.next_at = now + self.rng.uniform(*self.requote_seconds)
        if now >= self.next_noise:
            self._noise(open_instruments)
            self.next_noise = now + self.rng.uniform(0.5, 1.5) * self.noise_every

    def withdraw(self) -> None:
        """Cancel the maker's resting quotes (shutdown)."""
        for pair in self.state.values():
            for order in (pair.bid, pair.ask):
                if order is None:
                    continue
                with contextlib.suppress(DomainError):
                    order_cancel(order=order, source=OrderSource.SYSTEM, actor_label=ACTOR)


def build_demo_liquidity(*, seed: int | None = None) -> DemoLiquidity | None:
    maker = Account.objects.filter(number=MARKET_MAKER_ACCOUNT).first()
    if maker is None:
        logger.warning("demo liquidity: no %s account (run seed_demo)", MARKET_MAKER_ACCOUNT)
        return None
    takers = list(Account.objects.filter(number__in=NOISE_ACCOUNTS))
    instruments = list(
        Instrument.objects.filter(
            asset_class__in=QUOTED_CLASSES, tradable=True, reference_price__isnull=False
        ).order_by("symbol")
    )
    return DemoLiquidity(maker=maker, takers=takers, instruments=instruments, seed=seed)


def run_demo_liquidity(*, stop: threading.Event | None = None, seed: int | None = None) -> None:
    liquidity = build_demo_liquidity(seed=seed)
    if liquidity is None:
        if stop is not None:
            stop.wait()  # nothing to do, but a finished part would stop the whole process
        return
    while stop is None or not stop.is_set():
        try:
            liquidity.step()
        except Exception:
            logger.exception("demo liquidity: step failed")
        if stop is not None:
            stop.wait(0.2)
        else:
            time.sleep(0.2)
    liquidity.withdraw()
