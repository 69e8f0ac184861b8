from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, transaction

from apps.common.errors import ValidationFailed
from apps.positions.choices import JournalKind, LedgerAccountKind
from apps.positions.models import CashBalance, Journal, Position, Posting
from apps.positions.selectors import ledger_reconciliation
from apps.positions.services import (
    JournalEntry,
    Leg,
    cash_deposit,
    client_ledger_account,
    firm_ledger_account,
    ledger_post,
    post_journals,
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


def test_the_database_itself_refuses_a_statement_that_leaves_a_journal_unbalanced():
    account = AccountFactory()
    cash = client_ledger_account(account, LedgerAccountKind.CLIENT_CASH)
    bank = firm_ledger_account(LedgerAccountKind.BANK)
    journal = Journal.objects.create(kind=JournalKind.CORRECTION, reference="raw")

    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        Posting.objects.create(journal=journal, ledger_account=cash, asset="USD", amount=Decimal(5))
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        Posting.objects.bulk_create(
            [
                Posting(journal=journal, ledger_account=cash, asset="USD", amount=Decimal(5)),
                Posting(journal=journal, ledger_account=bank, asset="USD", amount=Decimal(-4)),
            ]
        )
    Posting.objects.bulk_create(
        [
            Posting(journal=journal, ledger_account=cash, asset="USD", amount=Decimal(5)),
            Posting(journal=journal, ledger_account=bank, asset="USD", amount=Decimal(-5)),
        ]
    )
    # A later statement is judged with what the journal already holds: balanced legs may join.
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        Posting.objects.create(journal=journal, ledger_account=bank, asset="USD", amount=-5)
    Posting.objects.bulk_create(
        [
            Posting(journal=journal, ledger_account=cash, asset="USD", amount=Decimal(-2)),
            Posting(journal=journal, ledger_account=bank, asset="USD", amount=Decimal(2)),
        ]
    )
    assert journal.postings.count() == 4


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


def test_many_journals_book_together_once_each_and_move_the_balances_they_feed():
    accounts = [AccountFactory() for _ in range(3)]
    bank = firm_ledger_account(LedgerAccountKind.BANK)

    def deposit(account, amount: str, reference: str) -> JournalEntry:
        cash = client_ledger_account(account, LedgerAccountKind.CLIENT_CASH)
        legs = [Leg(bank, "USD", -Decimal(amount)), Leg(cash, "USD", Decimal(amount))]
        return JournalEntry(JournalKind.DEPOSIT, reference, legs)

    entries = [deposit(a, "100", f"many-{i}") for i, a in enumerate(accounts)]
    entries.append(deposit(accounts[0], "5.5", "many-3"))

    assert post_journals(entries) == {"many-0", "many-1", "many-2", "many-3"}
    assert post_journals([*entries[2:], deposit(accounts[1], "7", "many-4")]) == {"many-4"}

    settled = {b.account_id: b.settled for b in CashBalance.objects.filter(account__in=accounts)}
    assert settled == {
        accounts[0].pk: Decimal("105.5"),
        accounts[1].pk: Decimal(107),
        accounts[2].pk: Decimal(100),
    }
    assert ledger_reconciliation() == []


def test_two_journals_with_one_reference_in_one_call_are_refused():
    account = AccountFactory()
    cash = client_ledger_account(account, LedgerAccountKind.CLIENT_CASH)
    bank = firm_ledger_account(LedgerAccountKind.BANK)
    legs = [Leg(bank, "USD", Decimal(-1)), Leg(cash, "USD", Decimal(1))]

    with pytest.raises(ValidationFailed) as refused:
        post_journals(
            [JournalEntry("deposit", "twice", legs), JournalEntry("deposit", "twice", legs)]
        )

    assert refused.value.code == "duplicate_reference"
    assert not Journal.objects.filter(reference="twice").exists()
