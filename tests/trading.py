"""Shared helpers for trading tests: the real engine core fed from the real input stream.

Orders go through the order service, which publishes to Redis after commit; ``market.step()``
reads those commands, runs them through an in-process ``Engine`` and commits the events with the
real applier. Only the process boundary is left out (tests/matching covers the processes).
"""

from __future__ import annotations

from decimal import Decimal

from apps.matching.commands import now_ns
from apps.matching.engine import Engine, command_from_wire
from apps.matching.specs import instrument_spec
from apps.matching.transport import (
    COMMAND_FIELD,
    input_stream,
    redis_client,
    unpack,
)
from apps.orders.applier import AppliedBatch, apply_events
from apps.positions.services import cash_deposit, securities_transfer_in
from tests.clients.factories import AccountFactory, TradingPermissionFactory


class Market:
    def __init__(self, shard: int = 0) -> None:
        self.shard = shard
        self.engine = Engine(shard=shard)
        self.last_id = "0-0"
        self.events: list[tuple] = []

    def list(self, instrument, session: str = "continuous") -> None:
        self.engine.register(instrument_spec(instrument, session=session))

    def send(self, command: tuple) -> None:
        """A command from a scheduler or operator (session changes, expiry)."""
        self.apply(self.engine.process(command))

    def step(self) -> AppliedBatch:
        """Run every command published since the last step; commit the events."""
        reply = redis_client().xread({input_stream(self.shard): self.last_id}, count=10_000)
        commands = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                commands.append(command_from_wire(unpack(fields[COMMAND_FIELD])))
                self.last_id = entry_id
        return self.apply(self.engine.process_many(commands))

    def apply(self, events: list[tuple]) -> AppliedBatch:
        self.events.extend(events)
        return apply_events(self.shard, events)

    def now(self) -> int:
        return now_ns()


def funded_account(
    *, cash: Decimal = Decimal(100_000), account_type: str = "cash", asset_classes=None, **kwargs
):
    account = AccountFactory(account_type=account_type, **kwargs)
    TradingPermissionFactory(
        account=account,
        asset_classes=asset_classes or ["equity", "etf", "crypto"],
        short_selling=account_type == "margin",
        margin=account_type == "margin",
    )
    if cash:
        cash_deposit(account=account, amount=cash, reference=f"test-funding:{account.pk}")
    return account


def holding(account, instrument, quantity: Decimal, cost: Decimal) -> None:
    securities_transfer_in(
        account=account,
        instrument=instrument,
        quantity=quantity,
        cost_basis=cost,
        reference=f"test-holding:{account.pk}:{instrument.pk}",
    )


def limit_order(account, instrument, side: str, qty, price, **extra) -> dict:
    """Keyword arguments of ``order_submit`` for a day limit order."""
    return {
        "account": account,
        "instrument": instrument,
        "side": side,
        "order_type": "limit",
        "time_in_force": "day",
        "quantity": Decimal(qty),
        "limit_price": Decimal(price),
        **extra,
    }
