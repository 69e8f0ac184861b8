from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from apps.common.errors import ValidationFailed
from apps.positions.choices import JournalKind, LedgerAccountKind
from apps.positions.models import CashBalance, Journal, Position, Posting
from apps.positions.selectors import ledger_reconciliation
from apps.positions.services import (
    Leg,
    cash_deposit,
    client_ledger_account,
    firm_ledger_account,
    ledger_post,
    securities_transfer_in,
)
from tests.clients.factories import AccountFactory
from tests.instruments.factories import EquityFactory

pytestmark = pytest.mark.django_db


def test_a_deposit_books_a_balanced_journal_and_raises_settled_cash():
    account = AccountFactory()

    cash_deposit(account=account, amount=Decimal("2500.00"), reference="dep-1")

    balance = CashBalance.objects.get(account=account, currency="USD")
    assert balance.settled == Decimal("2500.00")
    assert sum(p.amount for p in Posting.objects.filter(journal__reference="dep-1")) == 0
    assert ledger_reconciliation() == []


def test_booking_the_same_reference_twice_moves_value_once():
    account = AccountFactory()

    cash_deposit(account=account, amount=Decimal(100), reference="dep-same")
    cash_deposit(account=account, amount=Decimal(100), reference="dep-same")

    assert CashBalance.objects.get(account=account).settled == Decimal(100)
    assert Journal.objects.filter(reference="dep-same").count() == 1


def test_an_unbalanced_journal_is_refused_before_anything_is_written():
    account = AccountFactory()
    legs = [
        Leg(firm_ledger_account(LedgerAccountKind.BANK), "USD", Decimal(-100)),
        Leg(client_ledger_account(account, LedgerAccountKind.CLIENT_CASH), "USD", Decimal(99)),
    ]

    with pytest.raises(ValidationFailed) as refused:
        ledger_post(kind=JournalKind.DEPOSIT, reference="bad", legs=legs)

    assert refused.value.code == "unbalanced_journal"
    assert not Journal.objects.filter(reference="bad").exists()


def test_the_database_itself_refuses_to_commit_an_unbalanced_journal():
    account = AccountFactory()
    cash = client_ledger_account(account, LedgerAccountKind.CLIENT_CASH)

    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        journal = Journal.objects.create(kind=JournalKind.CORRECTION, reference="raw")
        Posting.objects.create(journal=journal, ledger_account=cash, asset="USD", amount=Decimal(5))
        with connection.cursor() as cursor:
            # What COMMIT would do: run the deferred balance check now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_postings_cannot_be_changed_or_deleted():
    account = AccountFactory()
    cash_deposit(account=account, amount=Decimal(10), reference="dep-immutable")
    posting = Posting.objects.filter(journal__reference="dep-immutable").first()

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).update(amount=Decimal(11))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        posting.delete()


def test_securities_transferred_in_become_a_position_at_the_weighted_average_cost():
    account = AccountFactory()
    equity = EquityFactory()

    securities_transfer_in(
        account=account,
        instrument=equity,
        quantity=Decimal(100),
        cost_basis=Decimal(10),
        reference="t1",
    )
    securities_transfer_in(
        account=account,
        instrument=equity,
        quantity=Decimal(300),
        cost_basis=Decimal(20),
        reference="t2",
    )

    position = Position.objects.get(account=account, instrument=equity)
    assert position.quantity == Decimal(400)
    assert position.average_cost == Decimal("17.5")
    assert ledger_reconciliation() == []


def test_reconciliation_reports_a_balance_that_drifted_from_its_postings():
    account = AccountFactory()
    cash_deposit(account=account, amount=Decimal(50), reference="dep-drift")
    CashBalance.objects.filter(account=account).update(settled=Decimal(51))

    problems = ledger_reconciliation()

    assert len(problems) == 1
    assert "settled" in problems[0]
