"""The broker API through alpaca-py's BrokerClient (HTTP basic with the partner key)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from alpaca.broker.enums import (
    AgreementType,
    BankAccountType,
    JournalEntryType,
    TransferDirection,
    TransferTiming,
)
from alpaca.broker.models import Agreement, Contact, Disclosures, Identity
from alpaca.broker.requests import (
    CreateAccountRequest,
    CreateACHRelationshipRequest,
    CreateACHTransferRequest,
    CreateJournalRequest,
    GetAccountActivitiesRequest,
    GetJournalsRequest,
    LimitOrderRequest,
    ListAccountsRequest,
    UpdatableContact,
    UpdateAccountRequest,
)
from alpaca.common.enums import Sort
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import ActivityType, OrderSide, TimeInForce
from alpaca.trading.requests import ClosePositionRequest, ReplaceOrderRequest
from django.utils import timezone

from apps.api.choices import TransferStatus
from apps.api.models import AchRelationship, Transfer
from apps.api.services import transfer_settle
from apps.clients.choices import AccountStatus
from apps.clients.models import Account
from apps.compliance.models import AuditEvent
from apps.instruments.models import Instrument
from apps.orders.choices import OrderStatus
from apps.orders.models import Order
from apps.positions.models import CashBalance, Journal
from apps.positions.selectors import ledger_reconciliation
from apps.positions.services import cash_journal
from tests.clients.factories import AccountFactory, ClientFactory, PartnerFactory
from tests.trading import holding

pytestmark = pytest.mark.django_db(transaction=True)

ROUTING = "121000358"  # a valid ABA checksum


def account_request(email: str = "jo@example.com", margin: bool = False) -> CreateAccountRequest:
    agreements = [
        Agreement(
            agreement=AgreementType.CUSTOMER,
            signed_at="2026-01-05T10:00:00Z",
            ip_address="203.0.113.7",
        )
    ]
    if margin:
        agreements.append(
            Agreement(
                agreement=AgreementType.MARGIN,
                signed_at="2026-01-05T10:00:00Z",
                ip_address="203.0.113.7",
            )
        )
    return CreateAccountRequest(
        contact=Contact(
            email_address=email,
            phone_number="+15555550123",
            street_address=["20 N San Mateo Dr"],
            city="San Mateo",
            state="CA",
            postal_code="94401",
            country="USA",
        ),
        identity=Identity(
            given_name="Jo",
            family_name="Doe",
            date_of_birth="1990-01-01",
            tax_id="666-55-4321",
            tax_id_type="USA_SSN",
            country_of_citizenship="USA",
            country_of_birth="USA",
            country_of_tax_residence="USA",
            funding_source=["employment_income"],
        ),
        disclosures=Disclosures(
            is_control_person=False,
            is_affiliated_exchange_or_finra=False,
            is_politically_exposed=False,
            immediate_family_exposed=False,
        ),
        agreements=agreements,
    )


def test_partner_opens_updates_lists_and_closes_an_account(demo, live_server):
    client = demo.broker(live_server.url)
    created = client.create_account(account_request(margin=True))
    assert created.status == "ACTIVE"
    assert created.identity.given_name == "Jo"
    assert created.contact.email_address == "jo@example.com"
    row = Account.objects.select_related("client").get(pk=created.id)
    assert row.partner == demo.partner
    assert row.account_type == "margin"
    assert row.client.legal_name == "Jo Doe"
    assert row.client.country == "US"
    assert row.client.tax_id == "666-55-4321"

    fetched = client.get_account_by_id(created.id)
    assert fetched.account_number == row.number
    listed = client.list_accounts(ListAccountsRequest(sort=Sort.ASC))
    assert {a.account_number for a in listed} == {"DEMO0006", row.number}

    updated = client.update_account(
        created.id, UpdateAccountRequest(contact=UpdatableContact(email_address="new@example.com"))
    )
    assert updated.contact.email_address == "new@example.com"
    row.client.refresh_from_db()
    assert row.client.email == "new@example.com"

    trade = client.get_trade_account_by_id(created.id)
    assert trade.cash == "0"
    assert trade.multiplier == "2"

    client.close_account(created.id)
    row.refresh_from_db()
    assert row.status == AccountStatus.ACCOUNT_CLOSED


def test_closing_an_account_with_cash_is_refused(demo, live_server):
    client = demo.broker(live_server.url)
    with pytest.raises(APIError) as caught:
        client.close_account(demo.accounts["DEMO0006"].pk)
    assert caught.value.status_code == 409
    assert caught.value.code == "account_has_cash"


def test_partner_sees_only_its_own_accounts(demo, live_server):
    other = AccountFactory(partner=PartnerFactory(), client=ClientFactory())
    client = demo.broker(live_server.url)
    for call in (
        lambda: client.get_account_by_id(other.pk),
        lambda: client.get_trade_account_by_id(other.pk),
        lambda: client.get_orders_for_account(other.pk),
        lambda: client.get_account_by_id(demo.accounts["DEMO0001"].pk),  # not a partner account
    ):
        with pytest.raises(APIError) as caught:
            call()
        assert caught.value.status_code == 404


def test_ach_deposit_and_withdrawal_settle_through_the_simulated_rail(demo, live_server):
    client = demo.broker(live_server.url)
    account = demo.accounts["DEMO0006"]
    relationship = client.create_ach_relationship_for_account(
        account.pk,
        CreateACHRelationshipRequest(
            account_owner_name="Nora Winters",
            bank_account_type=BankAccountType.CHECKING,
            bank_account_number="123456789",
            bank_routing_number=ROUTING,
            nickname="Checking",
        ),
    )
    assert relationship.status == "APPROVED"
    assert [r.id for r in client.get_ach_relationships_for_account(account.pk)] == [relationship.id]

    deposit = client.create_transfer_for_account(
        account.pk,
        CreateACHTransferRequest(
            amount="1500.25",
            direction=TransferDirection.INCOMING,
            timing=TransferTiming.IMMEDIATE,
            relationship_id=relationship.id,
        ),
    )
    assert deposit.status == "QUEUED"  # answered before the rail settles it
    assert Transfer.objects.get(pk=deposit.id).status == "COMPLETE"
    cash = CashBalance.objects.get(account=account, currency="USD")
    assert cash.settled == Decimal("26500.25")

    withdrawal = client.create_transfer_for_account(
        account.pk,
        CreateACHTransferRequest(
            amount="500",
            direction=TransferDirection.OUTGOING,
            timing=TransferTiming.IMMEDIATE,
            relationship_id=relationship.id,
        ),
    )
    assert Transfer.objects.get(pk=withdrawal.id).status == "COMPLETE"
    cash.refresh_from_db()
    assert cash.settled == Decimal("26000.25")

    with pytest.raises(APIError) as caught:
        client.create_transfer_for_account(
            account.pk,
            CreateACHTransferRequest(
                amount="30000",
                direction=TransferDirection.OUTGOING,
                timing=TransferTiming.IMMEDIATE,
                relationship_id=relationship.id,
            ),
        )
    assert caught.value.code == "insufficient_funds"

    transfers = client.get_transfers_for_account(account.pk)
    assert {t.id for t in transfers} == {deposit.id, withdrawal.id}
    assert {t.status for t in transfers} == {"COMPLETE"}
    assert ledger_reconciliation() == []

    trade = client.get_trade_account_by_id(account.pk)
    assert trade.cash == "26000.25"
    assert trade.cash_withdrawable == "26000.25"


def test_a_partner_cancels_a_queued_transfer_then_its_ach_relationship(demo, live_server):
    client = demo.broker(live_server.url)
    account = demo.accounts["DEMO0006"]
    relationship = client.create_ach_relationship_for_account(
        account.pk,
        CreateACHRelationshipRequest(
            account_owner_name="Nora Winters",
            bank_account_type=BankAccountType.CHECKING,
            bank_account_number="123456789",
            bank_routing_number=ROUTING,
            nickname="Checking",
        ),
    )
    # Requested, and not taken by the rail yet (its Celery task has not run).
    queued = Transfer.objects.create(
        account=account,
        relationship_id=relationship.id,
        direction=TransferDirection.INCOMING,
        amount=Decimal(100),
        status=TransferStatus.QUEUED,
    )
    with pytest.raises(APIError) as in_flight:
        client.delete_ach_relationship_for_account(account.pk, relationship.id)
    assert (in_flight.value.status_code, in_flight.value.code) == (409, "transfer_in_flight")

    client.cancel_transfer_for_account(account.pk, queued.id)

    queued.refresh_from_db()
    assert queued.status == TransferStatus.CANCELED
    assert transfer_settle(transfer_id=str(queued.pk)).status == TransferStatus.CANCELED
    assert CashBalance.objects.get(account=account, currency="USD").settled == Decimal(25000)
    with pytest.raises(APIError) as again:
        client.cancel_transfer_for_account(account.pk, queued.id)
    assert (again.value.status_code, again.value.code) == (409, "transfer_not_cancelable")

    client.delete_ach_relationship_for_account(account.pk, relationship.id)

    # Listed only when asked for by status: the SDK's enum has no CANCELED to parse.
    assert client.get_ach_relationships_for_account(account.pk) == []
    assert AchRelationship.objects.get(pk=relationship.id).status == "CANCELED"
    with pytest.raises(APIError) as refused:
        client.create_transfer_for_account(
            account.pk,
            CreateACHTransferRequest(
                amount="50",
                direction=TransferDirection.INCOMING,
                timing=TransferTiming.IMMEDIATE,
                relationship_id=relationship.id,
            ),
        )
    assert (refused.value.status_code, refused.value.code) == (409, "relationship_not_approved")
    audited = AuditEvent.objects.filter(account_id=account.pk).values_list("action", flat=True)
    assert {"transfer.canceled", "ach_relationship.canceled"} <= set(audited)


def test_cash_journal_between_two_partner_accounts(demo, live_server):
    client = demo.broker(live_server.url)
    second = client.create_account(account_request(email="second@example.com"))
    journal = client.create_journal(
        CreateJournalRequest(
            from_account=demo.accounts["DEMO0006"].pk,
            to_account=second.id,
            entry_type=JournalEntryType.CASH,
            amount=250.5,
            description="Welcome bonus",
        )
    )
    assert journal.status == "executed"
    assert journal.net_amount == 250.5
    assert CashBalance.objects.get(account_id=second.id).settled == Decimal("250.5")
    assert CashBalance.objects.get(account=demo.accounts["DEMO0006"]).settled == Decimal("24749.5")
    with pytest.raises(APIError) as caught:
        client.create_journal(
            CreateJournalRequest(
                from_account=second.id,
                to_account=demo.accounts["DEMO0001"].pk,  # not the partner's
                entry_type=JournalEntryType.CASH,
                amount=1,
            )
        )
    assert caught.value.status_code == 404
    activities = client.get_account_activities(
        GetAccountActivitiesRequest(account_id=second.id, activity_types=[ActivityType.JNLC])
    )
    assert [a.net_amount for a in activities] == [250.5]
    assert ledger_reconciliation() == []


def test_a_partner_lists_and_reads_the_journals_between_its_accounts(demo, live_server):
    client = demo.broker(live_server.url)
    first = demo.accounts["DEMO0006"]
    second = client.create_account(account_request(email="second@example.com"))

    def journal(from_account, to_account, amount):
        return client.create_journal(
            CreateJournalRequest(
                from_account=from_account,
                to_account=to_account,
                entry_type=JournalEntryType.CASH,
                amount=amount,
            )
        )

    out = journal(first.pk, second.id, 100)
    back = journal(second.id, first.pk, 40)
    # Cash moved by operations to an account of someone else is not the partner's to see.
    cash_journal(
        from_account=first,
        to_account=demo.accounts["DEMO0001"],
        amount=Decimal(5),
        reference="ops:correction",
    )

    assert [(j.id, j.net_amount) for j in client.get_journals()] == [(back.id, 40), (out.id, 100)]
    from_first = client.get_journals(GetJournalsRequest(from_account=first.pk))
    assert [(j.from_account, j.to_account) for j in from_first] == [(first.pk, second.id)]
    assert client.get_journals(GetJournalsRequest(to_account=first.pk))[0].id == back.id
    assert client.get_journals(GetJournalsRequest(entry_type=JournalEntryType.SECURITY)) == []
    tomorrow = timezone.now().date() + dt.timedelta(days=1)
    assert client.get_journals(GetJournalsRequest(after=tomorrow)) == []
    assert len(client.get_journals(GetJournalsRequest(before=tomorrow))) == 2

    read = client.get_journal_by_id(out.id)
    assert (read.from_account, read.to_account, read.net_amount, read.status) == (
        first.pk,
        second.id,
        100,
        "executed",
    )
    foreign = Journal.objects.get(reference="ops:correction")
    with pytest.raises(APIError) as caught:
        client.get_journal_by_id(foreign.pk)
    assert caught.value.status_code == 404


def test_an_executed_journal_is_not_canceled_but_reversed(demo, live_server):
    client = demo.broker(live_server.url)
    first = demo.accounts["DEMO0006"]
    second = client.create_account(account_request(email="second@example.com"))
    out = client.create_journal(
        CreateJournalRequest(
            from_account=first.pk, to_account=second.id, entry_type=JournalEntryType.CASH, amount=60
        )
    )

    with pytest.raises(APIError) as caught:
        client.cancel_journal_by_id(out.id)

    assert caught.value.status_code == 422
    assert caught.value.code == "journal_not_cancelable"
    assert "not pending or queued" in caught.value.message
    assert Decimal(client.get_trade_account_by_id(second.id).cash) == 60  # nothing moved back
    foreign = cash_journal(
        from_account=first,
        to_account=demo.accounts["DEMO0001"],
        amount=Decimal(5),
        reference="ops:fee-refund",
    )
    with pytest.raises(APIError) as caught:
        client.cancel_journal_by_id(foreign.pk)
    assert caught.value.status_code == 404


def test_orders_positions_and_activities_for_a_partner_account(demo, live_server):
    client = demo.broker(live_server.url)
    account_id = demo.accounts["DEMO0006"].pk
    order = client.submit_order_for_account(
        account_id,
        LimitOrderRequest(
            symbol="AAPL",
            qty=3,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            limit_price=228,
            client_order_id="nw-1",
        ),
    )
    assert order.status == "pending_new"
    assert Order.objects.get(pk=order.id).account_id == account_id
    assert client.get_order_for_account_by_id(account_id, order.id).id == order.id
    assert client.get_order_for_account_by_client_id(account_id, "nw-1").id == order.id
    assert [o.id for o in client.get_orders_for_account(account_id)] == [order.id]
    Order.objects.filter(pk=order.id).update(status=OrderStatus.NEW)  # the matcher accepted it
    replacement = client.replace_order_for_account_by_id(
        account_id, order.id, ReplaceOrderRequest(qty=2, limit_price=227.5)
    )
    assert replacement.replaces == order.id
    assert (replacement.qty, replacement.limit_price) == ("2", "227.5")
    assert Order.objects.get(pk=order.id).status == OrderStatus.PENDING_REPLACE
    Order.objects.filter(pk=replacement.id).update(status=OrderStatus.NEW)  # the engine's word
    client.cancel_order_for_account_by_id(account_id, replacement.id)
    assert Order.objects.get(pk=replacement.id).status == OrderStatus.PENDING_CANCEL
    assert client.cancel_orders_for_account(account_id) == []

    assert client.get_all_positions_for_account(account_id) == []
    everything = client.get_all_accounts_positions()
    assert set(everything.positions) == {str(account_id)}

    activities = client.get_account_activities(GetAccountActivitiesRequest())
    assert [a.activity_type for a in activities] == [ActivityType.CSD]
    assert activities[0].net_amount == 25000


def test_a_partner_reads_and_closes_the_positions_of_its_account(demo, live_server):
    client = demo.broker(live_server.url)
    account = demo.accounts["DEMO0006"]
    for symbol, quantity in (("MSFT", 10), ("KO", 40)):
        holding(account, Instrument.objects.get(symbol=symbol), Decimal(quantity), Decimal(100))

    msft = client.get_open_position_for_account(account.pk, "MSFT")
    assert (msft.qty, msft.side, msft.avg_entry_price) == ("10", "long", "100")
    assert client.get_open_position_for_account(account.pk, msft.asset_id).symbol == "MSFT"

    half = client.close_position_for_account(
        account.pk, "MSFT", ClosePositionRequest(percentage="50")
    )
    assert (half.side, half.qty, half.type) == ("sell", "5", "market")
    assert Order.objects.get(pk=half.id).account_id == account.pk

    # The half order's cancel is asked for first, and holds its shares until the matcher
    # answers (none runs here): the position has 5 to sell, which Alpaca's 403 tells.
    ko, msft = client.close_all_positions_for_account(account.pk, cancel_orders=True)
    assert Order.objects.get(pk=half.id).status == OrderStatus.PENDING_CANCEL
    assert (ko.symbol, ko.status, ko.body.side, ko.body.qty) == ("KO", 200, "sell", "40")
    assert (msft.symbol, msft.status) == ("MSFT", 403)
    assert (msft.body.existing_qty, msft.body.held_for_orders, msft.body.available) == (10, 5, 5)
    assert msft.body.message == "insufficient qty available for order (requested: 10, available: 5)"
    with pytest.raises(APIError) as caught:
        client.close_position_for_account(account.pk, "MSFT")
    assert caught.value.status_code == 403
    assert json.loads(str(caught.value))["available"] == "5"


def test_a_partner_cannot_touch_the_positions_of_an_account_it_did_not_open(demo, live_server):
    client = demo.broker(live_server.url)
    theirs = demo.accounts["DEMO0005"]  # the market maker's, not the partner's
    for call in (
        lambda: client.get_open_position_for_account(theirs.pk, "AAPL"),
        lambda: client.close_position_for_account(theirs.pk, "AAPL"),
        lambda: client.close_all_positions_for_account(theirs.pk),
    ):
        with pytest.raises(APIError) as caught:
            call()
        assert caught.value.status_code == 404
    assert not Order.objects.filter(account=theirs).exists()


def test_reference_data_through_the_broker_client(demo, live_server):
    client = demo.broker(live_server.url)
    assert client.get_clock().next_close
    assert client.get_asset("SPY").symbol == "SPY"
    assert len(client.get_all_assets()) > 10
