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


def deposit_journal(
    *, account: Account, amount: Decimal = Decimal("10000.00"), currency: str = "USD"
) -> Journal:
    """A balanced deposit: ``amount`` from the bank rail into the account's settled cash. Builds
    the postings only (both in one statement: the database refuses a statement that leaves a
    journal unbalanced); use the ledger services when balances must agree with the ledger."""
    journal = JournalFactory(kind=JournalKind.DEPOSIT)
    client_cash = ClientCashLedgerFactory(account=account)
    bank = FirmLedgerFactory(kind=LedgerAccountKind.BANK)
    Posting.objects.bulk_create(
        [
            Posting(journal=journal, ledger_account=client_cash, asset=currency, amount=amount),
            Posting(journal=journal, ledger_account=bank, asset=currency, amount=-amount),
        ]
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
