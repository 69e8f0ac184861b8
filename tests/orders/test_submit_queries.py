"""Query budget of order entry: every order of every channel pays it, so an extra round trip (an
N+1, a check that grew its own query) fails here rather than in the benchmark. Statements are
pipelined (``rows.pipeline``), so round trips are counted as well as statements."""

from decimal import Decimal

import pytest

from apps.clients.models import Account
from apps.orders.choices import OrderStatus
from apps.orders.services import OrderRejected, order_submit
from apps.positions.models import CashBalance
from apps.risk.models import KillSwitch
from tests.clients.factories import RiskLimitFactory
from tests.trading import funded_account, limit_order

pytestmark = pytest.mark.django_db
D = Decimal

# SAVEPOINT (the test's transaction is the outer one), lock the cash row, the risk snapshot,
# INSERT the order, UPDATE the reservation, INSERT the audit event, RELEASE SAVEPOINT.
ENTERED = 7


def as_the_api_loads_it(account: Account) -> Account:
    """The account with what the API's key lookup brings along (api_key_authenticate)."""
    return Account.objects.select_related("client", "permissions", "risk_limit").get(pk=account.pk)


@pytest.fixture(autouse=True)
def _isolated_streams(stream_prefix):
    """Rate counters live under a per-test prefix."""


def test_an_order_is_entered_in_seven_statements(
    acme, django_assert_max_num_queries, django_assert_num_queries
):
    account = funded_account()
    RiskLimitFactory(account=account, max_orders_per_second=100, daily_loss_limit=D(1000))
    account = as_the_api_loads_it(account)

    with django_assert_max_num_queries(ENTERED):
        order = order_submit(**limit_order(account, acme, "buy", 10, "99.00"))

    assert order.status == OrderStatus.PENDING_NEW
    with django_assert_num_queries(0):  # a new order is known not to be replaced
        assert getattr(order, "replaced_by", None) is None


def test_an_order_waits_for_the_database_four_times_inside_its_transaction(acme, round_trips):
    account = as_the_api_loads_it(funded_account())
    order_submit(**limit_order(account, acme, "buy", 1, "99.00"))  # its cash row exists now

    with round_trips.counting():
        order = order_submit(**limit_order(account, acme, "buy", 10, "99.00"))

    assert order.status == OrderStatus.PENDING_NEW
    # SAVEPOINT (BEGIN outside a test); the cash row's lock with the risk snapshot; the three
    # writes, answered when the audit event's id is read; the pipeline's end; RELEASE (COMMIT).
    assert round_trips.count == 5


def test_an_accounts_first_order_creates_its_cash_row_and_is_checked_against_it(acme):
    account = as_the_api_loads_it(funded_account(cash=D(0)))
    assert not CashBalance.objects.filter(account=account).exists()

    with pytest.raises(OrderRejected) as refused:
        order_submit(**limit_order(account, acme, "buy", 10, "99.00"))

    assert refused.value.code == "insufficient_buying_power"
    assert CashBalance.objects.get(account=account).reserved == 0


def test_a_chosen_client_order_id_costs_one_lookup(acme, django_assert_max_num_queries):
    account = as_the_api_loads_it(funded_account())

    with django_assert_max_num_queries(ENTERED + 1):
        order_submit(**limit_order(account, acme, "buy", 10, "99.00", client_order_id="algo-7"))


def test_a_margin_account_marks_its_positions_once(acme, django_assert_max_num_queries):
    account = funded_account(account_type="margin")
    RiskLimitFactory(account=account, max_concentration_percent=D(50))
    account = as_the_api_loads_it(account)

    # Buying power and the concentration limit both need the equity: one positions query.
    with django_assert_max_num_queries(ENTERED + 1):
        order_submit(**limit_order(account, acme, "buy", 10, "99.00"))


def test_a_refused_order_is_recorded_without_extra_round_trips(acme, django_assert_max_num_queries):
    account = funded_account()
    KillSwitch.objects.create(scope="account", account=account, reason="runaway algo")
    account = as_the_api_loads_it(account)

    # The rejected order and its audit event are written; no reservation. One more statement
    # reads the engaged switch for its reason.
    with django_assert_max_num_queries(ENTERED), pytest.raises(OrderRejected) as refused:
        order_submit(**limit_order(account, acme, "buy", 10, "99.00"))

    assert refused.value.code == "kill_switch_active"
    assert "runaway algo" in refused.value.message
