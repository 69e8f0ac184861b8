from decimal import Decimal

import factory

from apps.clients.models import Account
from apps.positions.choices import JournalKind, LedgerAccountKind
from apps.positions.models import CashBalance, Journal, LedgerAccount, Position, Posting
from tests.clients.factories import AccountFactory
from tests.instruments.factories import EquityFactory


class ClientCashLedgerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LedgerAccount
        django_get_or_create = ("account", "kind")

    account = factory.SubFactory(AccountFactory)
    kind = LedgerAccountKind.CLIENT_CASH
    code = factory.LazyAttribute(lambda ledger: f"{ledger.account.number}:{ledger.kind}")


class FirmLedgerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LedgerAccount
        django_get_or_create = ("code",)

    account = None
    kind = LedgerAccountKind.BANK
    code = factory.LazyAttribute(lambda ledger: f"firm:{ledger.kind}")


class JournalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Journal

    kind = JournalKind.DEPOSIT
    reference = factory.Sequence(lambda n: f"deposit-{n:06d}")
    description = "ACH deposit"


class PostingFactory(factory.django.DjangoModelFactory):
    """One leg; a journal must balance per asset at commit, so use ``deposit_journal`` unless the
    test never commits (the default pytest-django transaction is rolled back)."""

    class Meta:
        model = Posting

    journal = factory.SubFactory(JournalFactory)
    ledger_account = factory.SubFactory(ClientCashLedgerFactory)
    asset = "USD"
    amount = Decimal("10000.00")


def deposit_journal(
    *, account: Account, amount: Decimal = Decimal("10000.00"), currency: str = "USD"
) -> Journal:
    """A balanced deposit: ``amount`` from the bank rail into the account's settled cash. Builds
    the postings only; use the ledger services when balances must agree with the ledger."""
    journal = JournalFactory(kind=JournalKind.DEPOSIT)
    PostingFactory(
        journal=journal,
        ledger_account=ClientCashLedgerFactory(account=account),
        asset=currency,
        amount=amount,
    )
    PostingFactory(
        journal=journal,
        ledger_account=FirmLedgerFactory(kind=LedgerAccountKind.BANK),
        asset=currency,
        amount=-amount,
    )
    return journal


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position

    account = factory.SubFactory(AccountFactory)
    instrument = factory.SubFactory(EquityFactory)
    quantity = Decimal(100)
    average_cost = Decimal("98.25")


class CashBalanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CashBalance

    account = factory.SubFactory(AccountFactory)
    currency = "USD"
    settled = Decimal("10000.00")
