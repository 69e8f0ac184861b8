import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from apps.clients.choices import AccountStatus, AccountType, AssetClass, ClientType, KycStatus
from apps.clients.models import Account, Client, ClientUser, Partner, RiskLimit, TradingPermission

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs) -> None:
        if create and extracted:
            for role in extracted:
                self.groups.add(Group.objects.get_or_create(name=str(role))[0])
        if create:
            self.save()


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner Fintech {n}")
    group = factory.LazyAttribute(lambda p: Group.objects.create(name=f"partner:{p.name}"))


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    client_type = ClientType.RETAIL
    legal_name = factory.Faker("name")
    email = factory.Faker("email")
    country = "US"
    date_of_birth = dt.date(1985, 4, 12)
    tax_id = factory.Sequence(lambda n: f"123-45-{n:04d}")
    kyc_status = KycStatus.APPROVED


class InstitutionFactory(ClientFactory):
    client_type = ClientType.INSTITUTIONAL
    legal_name = factory.Faker("company")
    date_of_birth = None
    lei = factory.Sequence(lambda n: f"5493001KJTIIGC8Y{n:04d}")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    number = factory.Sequence(lambda n: f"T{n:08d}")
    client = factory.SubFactory(ClientFactory)
    account_type = AccountType.CASH
    status = AccountStatus.ACTIVE


class ClientUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClientUser

    client = factory.SubFactory(ClientFactory)
    user = factory.SubFactory(UserFactory)


class TradingPermissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TradingPermission

    account = factory.SubFactory(AccountFactory)
    asset_classes = factory.LazyFunction(lambda: [AssetClass.EQUITY, AssetClass.CRYPTO])


class RiskLimitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RiskLimit

    account = factory.SubFactory(AccountFactory)
