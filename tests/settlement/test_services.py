import datetime as dt
from decimal import Decimal

import pytest

from apps.instruments.models import SettlementCycle
from apps.orders.models import Execution
from apps.orders.services import order_submit
from apps.positions.models import CashBalance
from apps.positions.selectors import ledger_reconciliation
from apps.settlement.models import Settlement
from apps.settlement.services import settle_due
from tests.instruments.factories import EquityFactory
from tests.trading import funded_account, holding

pytestmark = pytest.mark.django_db
D = Decimal


def test_trades_settle_on_their_date_netted_per_account_and_only_once(market, submit):
    SettlementCycle.objects.create(asset_class="equity", days=1)
    acme = EquityFactory(symbol="ACME", reference_price=D("100.00"))
    market.list(acme)
    buyer = funded_account(cash=D(10_000))
    seller = funded_account(cash=D(0))
    holding(seller, acme, D(30), D(100))
    for qty in ("10", "20"):
        submit(order_submit, account=seller, instrument=acme, side="sell", order_type="limit",
               time_in_force="day", quantity=D(qty), limit_price=D("100.00"))  # fmt: skip
        submit(order_submit, account=buyer, instrument=acme, side="buy", order_type="limit",
               time_in_force="day", quantity=D(qty), limit_price=D("100.00"))  # fmt: skip
    market.step()
    settle_date = Execution.objects.first().settle_date
    assert settle_date > Execution.objects.first().executed_at.date()

    assert settle_due(as_of=settle_date - dt.timedelta(days=1)) == []
    settled = settle_due(as_of=settle_date)
    again = settle_due(as_of=settle_date)

    assert len(settled) == 2 and again == []
    buyer_settlement = Settlement.objects.get(account=buyer)
    assert (buyer_settlement.net_amount, buyer_settlement.execution_count) == (D(-3000), 2)
    buyer_cash = CashBalance.objects.get(account=buyer)
    assert (buyer_cash.settled, buyer_cash.unsettled) == (D(7000), D(0))
    assert CashBalance.objects.get(account=seller).unsettled == 0
    assert ledger_reconciliation() == []
