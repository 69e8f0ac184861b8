"""The applier process's loop: a read of acceptances waits a little for more to commit with it;
anything that moves money is committed at once. The real loop (``run_applier``) on a thread,
reading the real output stream, fed with events the real engine core produced."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connection

from apps.matching.transport import (
    EVENTS_FIELD,
    FIRST_SEQ_FIELD,
    LAST_SEQ_FIELD,
    output_stream,
    pack,
    redis_client,
)
from apps.orders.applier import run_applier
from apps.orders.choices import OrderStatus
from apps.orders.models import Order
from apps.orders.services import order_submit
from tests.processes import wait_until
from tests.trading import funded_account, holding, limit_order

# The applier's thread commits on its own connection: the test's data must be committed too.
pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def matched(market, submit, **order) -> tuple[Order, list[tuple]]:
    """Enter an order and run it through the engine; its events, not yet applied."""
    placed = submit(order_submit, **order)
    events: list[tuple] = []
    market.apply = events.extend
    market.step()
    del market.apply
    return placed, events


def to_output_stream(events: list[tuple]) -> None:
    """One output stream entry, as the matcher writes it."""
    redis_client().xadd(
        output_stream(0),
        {EVENTS_FIELD: pack(events), FIRST_SEQ_FIELD: events[0][1], LAST_SEQ_FIELD: events[-1][1]},
    )


@contextmanager
def applier(linger_ms: int) -> Iterator[None]:
    stop = threading.Event()

    def run() -> None:
        try:
            run_applier(0, consumer="test", block_ms=50, linger_ms=linger_ms, stop=stop)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def status(order: Order) -> str:
    order.refresh_from_db()
    return order.status


def moved_on(order: Order, timeout: float) -> str:
    """The order's status once the applier has moved it on from pending_new."""
    wait_until(lambda: status(order) != OrderStatus.PENDING_NEW, timeout, "the applier's commit")
    return order.status


def test_acceptances_arriving_within_the_linger_commit_together(market, submit, acme, caplog):
    caplog.set_level("INFO", logger="apps.orders.applier")
    buyer = funded_account()
    first, first_events = matched(market, submit, **limit_order(buyer, acme, "buy", 10, "99.00"))
    second, second_events = matched(market, submit, **limit_order(buyer, acme, "buy", 10, "98.00"))

    with applier(linger_ms=3000):
        to_output_stream(first_events)
        time.sleep(0.5)
        assert status(first) == OrderStatus.PENDING_NEW  # waiting for company
        to_output_stream(second_events)
        assert moved_on(first, 10) == OrderStatus.NEW

    second.refresh_from_db()
    assert second.status == OrderStatus.NEW
    applied = [r.getMessage() for r in caplog.records if r.getMessage().startswith("applied")]
    assert len(applied) == 1, applied  # one transaction for both


def test_a_fill_is_never_held_back(market, submit, acme):
    seller = funded_account()
    holding(seller, acme, D(100), D(90))
    buyer = funded_account()
    _, resting = matched(market, submit, **limit_order(seller, acme, "sell", 10, "100.00"))
    buy, crossing = matched(market, submit, **limit_order(buyer, acme, "buy", 10, "100.00"))

    with applier(linger_ms=60_000):
        to_output_stream(resting)  # an acceptance alone: it may wait
        to_output_stream(crossing)  # the trade ends the wait
        assert moved_on(buy, 30) == OrderStatus.FILLED


def test_a_lone_acceptance_is_committed_when_the_linger_ends(market, submit, acme):
    order, events = matched(market, submit, **limit_order(funded_account(), acme, "buy", 10, "99"))

    with applier(linger_ms=200):
        to_output_stream(events)
        assert moved_on(order, 10) == OrderStatus.NEW
