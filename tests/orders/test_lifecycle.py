"""An order's whole life through the service, the engine and the applier."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.compliance.models import AuditEvent
from apps.matching.engine import SetSession
from apps.orders.applier import apply_events
from apps.orders.choices import Liquidity, OrderStatus
from apps.orders.models import Execution, Order
from apps.orders.services import order_cancel, order_replace, order_submit
from apps.positions.choices import LedgerAccountKind
from apps.positions.models import CashBalance, Position, Posting
from apps.positions.selectors import ledger_reconciliation
from tests.instruments.factories import CryptoFactory
from tests.trading import funded_account, holding, limit_order

pytestmark = pytest.mark.django_db
D = Decimal


def test_two_accounts_cross_and_everything_moves_together(market, submit, acme):
    buyer = funded_account(cash=D(50_000))
    seller = funded_account(cash=D(1_000))
    holding(seller, acme, D(300), D(90))

    sell = submit(order_submit, **limit_order(seller, acme, "sell", 200, "100.00"))
    market.step()
    buy = submit(order_submit, **limit_order(buyer, acme, "buy", 150, "100.50"))
    batch = market.step()

    sell.refresh_from_db()
    buy.refresh_from_db()
    assert (buy.status, buy.filled_quantity, buy.average_fill_price) == (
        OrderStatus.FILLED,
        D(150),
        D(100),
    )
    assert (sell.status, sell.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, D(150))
    assert Execution.objects.filter(order=buy, liquidity=Liquidity.TAKER).count() == 1
    assert Execution.objects.filter(order=sell, liquidity=Liquidity.MAKER).count() == 1
    buyer_position = Position.objects.get(account=buyer, instrument=acme)
    seller_position = Position.objects.get(account=seller, instrument=acme)
    assert (buyer_position.quantity, buyer_position.average_cost) == (D(150), D(100))
    assert seller_position.quantity == D(150)
    assert seller_position.realized_pnl == D(150) * D(10)  # bought at 90, sold at 100
    buyer_cash = CashBalance.objects.get(account=buyer)
    assert buyer_cash.unsettled == D(-15_000)  # equities settle T+1
    assert buyer_cash.reserved == 0  # a filled order holds nothing back
    seller_cash = CashBalance.objects.get(account=seller)
    sell_execution = Execution.objects.get(order=sell)
    assert seller_cash.unsettled == D(15_000) - sell_execution.regulatory_fees
    assert sell_execution.regulatory_fees > 0  # SEC fee and FINRA TAF on the sale
    assert ledger_reconciliation() == []
    assert {u.event for u in batch.updates} == {"new", "fill", "partial_fill"}


def test_crypto_settles_at_once_into_settled_cash(market, submit):
    bitcoin = CryptoFactory(symbol="BTC-USD", reference_price=D("60000.00"), lot_size=D("0.0001"))
    market.list(bitcoin)
    buyer = funded_account(cash=D(100_000))
    seller = funded_account(cash=D(0))
    holding(seller, bitcoin, D(2), D(50_000))

    submit(
        order_submit,
        **limit_order(seller, bitcoin, "sell", "0.5", "60000.00") | {"time_in_force": "gtc"},
    )
    submit(
        order_submit,
        account=buyer,
        instrument=bitcoin,
        side="buy",
        order_type="market",
        time_in_force="gtc",
        quantity=D("0.25"),
    )
    market.step()

    buyer_cash = CashBalance.objects.get(account=buyer)
    fee = Execution.objects.get(account=buyer).commission
    assert buyer_cash.unsettled == 0
    assert buyer_cash.settled == D(100_000) - D(15_000) - fee
    assert Position.objects.get(account=buyer, instrument=bitcoin).quantity == D("0.25")
    assert ledger_reconciliation() == []


def test_a_buy_order_reserves_buying_power_until_it_is_canceled(market, submit, acme):
    buyer = funded_account(cash=D(10_000))

    order = submit(order_submit, **limit_order(buyer, acme, "buy", 50, "99.00"))
    market.step()
    assert CashBalance.objects.get(account=buyer).reserved == D(4950)

    submit(order_cancel, order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_CANCEL
    market.step()

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert CashBalance.objects.get(account=buyer).reserved == 0
    actions = list(
        AuditEvent.objects.filter(object_id=str(order.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "order.submitted",
        "order.accepted",
        "order.cancel_requested",
        "order.canceled",
    ]


def test_replace_keeps_the_fills_and_moves_the_reservation(market, submit, acme):
    buyer = funded_account(cash=D(20_000))
    seller = funded_account(cash=D(0))
    holding(seller, acme, D(10), D(95))
    order = submit(order_submit, **limit_order(buyer, acme, "buy", 100, "99.00"))
    market.step()
    submit(order_submit, **limit_order(seller, acme, "sell", 10, "99.00"))
    market.step()

    new = submit(order_replace, order=order, quantity=D(60), limit_price=D("98.00"))
    market.step()

    order.refresh_from_db()
    new.refresh_from_db()
    assert order.status == OrderStatus.REPLACED
    assert new.replaces_id == order.pk
    assert (new.status, new.filled_quantity, new.quantity) == (
        OrderStatus.PARTIALLY_FILLED,
        D(10),
        D(60),
    )
    assert CashBalance.objects.get(account=buyer).reserved == D(50) * D(98)


def test_an_order_rejected_by_the_engine_gives_its_reservation_back(market, submit, acme):
    buyer = funded_account(cash=D(10_000))
    market.send(SetSession(ts_ns=market.now(), symbol="ACME", state="closed"))

    order = submit(order_submit, **limit_order(buyer, acme, "buy", 10, "99.00"))
    market.step()

    order.refresh_from_db()
    assert (order.status, order.reject_reason) == (OrderStatus.REJECTED, "session_closed")
    assert CashBalance.objects.get(account=buyer).reserved == 0


def test_reapplying_the_same_events_changes_nothing(market, submit, acme):
    buyer = funded_account(cash=D(50_000))
    seller = funded_account(cash=D(0))
    holding(seller, acme, D(100), D(100))
    submit(order_submit, **limit_order(seller, acme, "sell", 100, "100.00"))
    submit(order_submit, **limit_order(buyer, acme, "buy", 100, "100.00"))
    market.step()
    snapshot = (
        Execution.objects.count(),
        Posting.objects.count(),
        Position.objects.get(account=buyer).quantity,
    )

    again = market.apply(market.events)

    assert again.applied == 0
    assert (
        Execution.objects.count(),
        Posting.objects.count(),
        Position.objects.get(account=buyer).quantity,
    ) == snapshot


def test_a_redelivered_batch_with_new_events_applies_only_the_new_ones(market, submit, acme):
    buyer = funded_account()
    first = submit(order_submit, **limit_order(buyer, acme, "buy", 10, "99.00"))
    market.step()
    delivered = list(market.events)
    second = submit(order_submit, **limit_order(buyer, acme, "buy", 10, "98.00"))
    new = []
    market.apply = new.extend  # the engine runs, nothing is applied yet
    market.step()

    # As after a crash between commit and acknowledge: the old entries come again, with more.
    batch = apply_events(market.shard, delivered + new)

    assert batch.applied == len(new)
    assert [(u.order_id, u.event) for u in batch.updates] == [(str(second.pk), "new")]
    second.refresh_from_db()
    assert second.status == OrderStatus.NEW
    accepted = AuditEvent.objects.filter(action="order.accepted", object_id=str(first.pk))
    assert accepted.count() == 1


def test_the_ledger_nets_to_zero_for_every_asset_after_trading(market, submit, acme):
    accounts = [funded_account(cash=D(100_000)) for _ in range(3)]
    holding(accounts[0], acme, D(500), D(95))
    submit(order_submit, **limit_order(accounts[0], acme, "sell", 300, "100.00"))
    submit(order_submit, **limit_order(accounts[1], acme, "buy", 120, "100.00"))
    submit(order_submit, **limit_order(accounts[2], acme, "buy", 100, "100.05"))
    market.step()
    submit(order_submit, **limit_order(accounts[1], acme, "sell", 20, "99.90"))
    submit(order_submit, **limit_order(accounts[2], acme, "buy", 10, "100.10"))
    market.step()

    assert ledger_reconciliation() == []
    securities = Posting.objects.filter(
        ledger_account__kind=LedgerAccountKind.CLIENT_SECURITIES, asset="ACME"
    )
    assert sum(p.amount for p in securities) == D(
        500
    )  # only what was transferred in: trades net out
    assert Order.objects.filter(status=OrderStatus.FILLED).count() >= 2


def test_many_fills_of_the_same_accounts_in_one_batch_add_up(market, submit, acme):
    seller = funded_account(cash=D(1_000))
    holding(seller, acme, D(1_000), D(90))
    buyers = [funded_account(cash=D(50_000)) for _ in range(2)]
    for cents in range(5):
        submit(order_submit, **limit_order(seller, acme, "sell", 10, f"100.0{cents}"))
    market.step()
    submit(order_submit, **limit_order(buyers[0], acme, "buy", 30, "100.10"))
    submit(order_submit, **limit_order(buyers[1], acme, "buy", 20, "100.10"))
    batch = market.step()  # five trades, committed together

    assert batch.executions == 10
    first, second = (Position.objects.get(account=b, instrument=acme) for b in buyers)
    assert (first.quantity, first.average_cost) == (D(30), D("100.01"))
    assert (second.quantity, second.average_cost) == (D(20), D("100.035"))
    seller_position = Position.objects.get(account=seller, instrument=acme)
    assert seller_position.quantity == D(950)
    assert seller_position.realized_pnl == sum(D(10) * (D(f"100.0{c}") - 90) for c in range(5))
    assert CashBalance.objects.get(account=buyers[0]).unsettled == D("-3000.30")
    assert CashBalance.objects.get(account=buyers[1]).unsettled == D("-2000.70")
    assert all(CashBalance.objects.get(account=b).reserved == 0 for b in buyers)
    assert CashBalance.objects.get(account=seller).reserved == 0
    assert ledger_reconciliation() == []
    assert AuditEvent.objects.filter(action="order.filled").count() == 10


ACCOUNT_TABLES = ("clients_account", "clients_client")


def _scans(*tables: str) -> int:
    """Scans this transaction has run on these tables (PostgreSQL's own count, which sees the
    applier's binary reads that Django's query capture does not)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0)"
            " FROM pg_stat_xact_user_tables WHERE relname = ANY(%s)",
            [list(tables)],
        )
        return cursor.fetchone()[0]


def test_a_batch_of_acceptances_reads_no_account(market, submit, acme):
    buyer = funded_account()
    order = submit(order_submit, **limit_order(buyer, acme, "buy", 10, "99.00"))
    before = _scans(*ACCOUNT_TABLES)

    batch = market.step()

    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
    assert [u.event for u in batch.updates] == ["new"]
    assert batch.updates[0].symbol == acme.symbol  # its instrument is read, for the update
    assert _scans(*ACCOUNT_TABLES) == before


def test_a_trade_batch_waits_for_the_database_fourteen_times(market, submit, acme, round_trips):
    buyer, seller = funded_account(cash=D(50_000)), funded_account()
    holding(seller, acme, D(20), D(90))

    def cross() -> None:
        """A resting sell, then a buy that fills it; the buy's batch counted."""
        submit(order_submit, **limit_order(seller, acme, "sell", 10, "100.00"))
        market.step()
        submit(order_submit, **limit_order(buyer, acme, "buy", 10, "100.00"))
        with round_trips.counting():
            assert market.step().executions == 2

    cross()  # the accounts' first trade creates their ledger accounts and positions
    cross()

    # SAVEPOINT (BEGIN outside a test); the claim with the orders' locks; the instruments with
    # the accounts; the cash rows' locks; the positions' locks with the ledger accounts; the
    # executions (COPY: two); the journals; their postings (COPY: two); the balances, the
    # orders and the audit events' ids; the audit events (COPY: two); RELEASE (COMMIT).
    print(*[" ".join(t) for t in round_trips.trips], sep="\n")
    assert round_trips.count == 14, round_trips.trips
    assert ledger_reconciliation() == []


def test_a_trade_batch_books_its_journals_without_a_savepoint_of_their_own(market, submit, acme):
    buyer, seller = funded_account(cash=D(50_000)), funded_account()
    holding(seller, acme, D(20), D(90))

    def cross() -> list[str]:
        """A resting sell, then a buy that fills it; the statements of the buy's batch."""
        submit(order_submit, **limit_order(seller, acme, "sell", 10, "100.00"))
        market.step()
        submit(order_submit, **limit_order(buyer, acme, "buy", 10, "100.00"))
        with CaptureQueriesContext(connection) as statements:
            assert market.step().executions == 2
        return [s["sql"] for s in statements]

    cross()  # the accounts' first trade creates their ledger accounts and positions
    savepoints = [sql for sql in cross() if sql.startswith("SAVEPOINT")]

    assert len(savepoints) == 1  # the batch's transaction, a savepoint inside the test's own
    assert ledger_reconciliation() == []
