"""Helpers for the engine tests: a tiny venue that stamps time and names event fields.

These tests need no Django: run them with
    .venv/bin/python -m pytest -p no:django -p no:cacheprovider tests/matching/engine -q
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from apps.matching.engine import (
    Cancel,
    NewOrder,
    Replace,
    SetSession,
    describe,
    native_core,
    pure_core,
)

SYMBOL = "ACME"

# Every test runs against the interpreted core and, when it was built, the mypyc-compiled one.
IMPLEMENTATIONS = {"pure": pure_core} | ({"mypyc": native_core} if native_core else {})
_current: list[ModuleType] = [pure_core]


def core() -> ModuleType:
    """The core module (Engine, InstrumentSpec) under test right now."""
    return _current[0]


@pytest.fixture(autouse=True, params=list(IMPLEMENTATIONS))
def implementation(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    _current[0] = IMPLEMENTATIONS[request.param]
    yield _current[0]
    _current[0] = pure_core


@pytest.fixture(autouse=True)
def _fast_password_hasher():
    # Overrides the project-wide autouse fixture, which needs Django settings; nothing here
    # touches Django.
    return None


class Venue:
    """An engine with one instrument, a clock that ticks per command, and readable events."""

    def __init__(self, engine: Any = None, **spec: Any) -> None:
        self.engine = engine or core().Engine()
        if engine is None:
            self.engine.register(core().InstrumentSpec(SYMBOL, **spec))
        self.ts = 0
        self.log: list[tuple] = []

    def send(self, cmd: tuple) -> list[dict[str, Any]]:
        events = self.engine.process(cmd)
        self.log.extend(events)
        return [describe(e) for e in events]

    def tick(self) -> int:
        self.ts += 1_000
        return self.ts

    def order(self, oid: Any, side: str, qty: int, price: int | None = None, **kw: Any):
        kw.setdefault("account", None)
        return self.send(
            NewOrder(ts_ns=self.tick(), symbol=kw.pop("symbol", SYMBOL), order_id=oid,
                     side=side, qty=qty, price=price, **kw)
        )  # fmt: skip

    def buy(self, oid: Any, qty: int, price: int | None = None, **kw: Any):
        return self.order(oid, "buy", qty, price, **kw)

    def sell(self, oid: Any, qty: int, price: int | None = None, **kw: Any):
        return self.order(oid, "sell", qty, price, **kw)

    def cancel(self, oid: Any, **kw: Any):
        return self.send(Cancel(ts_ns=self.tick(), symbol=kw.pop("symbol", SYMBOL), order_id=oid,
                                **kw))  # fmt: skip

    def replace(self, oid: Any, qty: int, price: int | None = None, **kw: Any):
        return self.send(
            Replace(ts_ns=self.tick(), symbol=SYMBOL, order_id=oid, qty=qty, price=price, **kw)
        )

    def session(self, state: str):
        return self.send(SetSession(ts_ns=self.tick(), symbol=SYMBOL, state=state))

    def depth(self):
        return self.engine.depth(SYMBOL)


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events]


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == kind]


def fills(events: list[dict[str, Any]]) -> list[tuple[Any, Any, int, int]]:
    """(taker, maker, price, qty) of every trade."""
    return [
        (e["taker_order_id"], e["maker_order_id"], e["price"], e["qty"])
        for e in of(events, "trade")
    ]


@pytest.fixture
def venue() -> Venue:
    return Venue(self_trade_prevention=True)
