"""Clients, their accounts, who acts for them, what they may trade and within which limits."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from apps.clients.choices import (
    AccountStatus,
    AccountType,
    AssetClass,
    ClientType,
    ComplianceStatus,
    KycStatus,
    OptionLevel,
)
from apps.common.decimals import MONEY_DIGITS, MONEY_PLACES, QUANTITY_DIGITS, QUANTITY_PLACES


class Partner(models.Model):
    """A fintech or introducing broker that opens and operates accounts through the broker API."""

    name = models.CharField(max_length=200, unique=True)
    is_active = models.BooleanField(default=True)
    group = models.OneToOneField(
        "auth.Group",
        on_delete=models.PROTECT,
        related_name="partner",
        help_text="The partner's staff logins; object permissions on its clients go to this group",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.name


class Client(models.Model):
    """A person or legal entity the broker has onboarded (KYC) and trades for."""

    client_type = models.CharField(max_length=20, choices=ClientType.choices)
    legal_name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 country of residence")
    street_address = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    date_of_birth = models.DateField(null=True, blank=True, help_text="Natural persons only")
    lei = models.CharField("LEI", max_length=20, blank=True, help_text="Legal entities only")
    tax_id = models.CharField(max_length=40, blank=True)
    kyc_status = models.CharField(
        max_length=20, choices=KycStatus.choices, default=KycStatus.PENDING
    )
    compliance_status = models.CharField(
        max_length=20, choices=ComplianceStatus.choices, default=ComplianceStatus.CLEAR
    )
    is_active = models.BooleanField(default=True)
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="clients"
    )
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="ClientUser", blank=True, related_name="clients"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["legal_name"]
        constraints = [
            # A natural person has a date of birth; a legal entity has an LEI.
            models.CheckConstraint(
                condition=Q(client_type="retail", date_of_birth__isnull=False)
                | Q(
                    client_type__in=["institutional", "market_maker"], lei__regex=r"^[A-Z0-9]{20}$"
                ),
                name="client_identity_by_type",
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name


class ClientUser(models.Model):
    """A login that acts for a client: the owner themself or an authorised trader."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    can_trade = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "user"], name="client_user_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} for {self.client}"


class Account(models.Model):
    """A brokerage account: where cash, positions and orders live."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=20, unique=True)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="accounts")
    account_type = models.CharField(
        max_length=10, choices=AccountType.choices, default=AccountType.CASH
    )
    base_currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(
        max_length=20, choices=AccountStatus.choices, default=AccountStatus.SUBMITTED
    )
    partner = models.ForeignKey(
        Partner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts",
        help_text="Set when the account was opened through the partner API",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number

    @property
    def is_tradable(self) -> bool:
        return self.status == AccountStatus.ACTIVE


class TradingPermission(models.Model):
    """What an account may trade: asset classes, option level, short selling, margin."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="permissions")
    asset_classes = ArrayField(
        models.CharField(max_length=10, choices=AssetClass.choices),
        default=list,
        blank=True,
    )
    option_level = models.PositiveSmallIntegerField(
        choices=OptionLevel.choices, default=OptionLevel.NONE
    )
    short_selling = models.BooleanField(default=False)
    margin = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(option_level__lte=4), name="option_level_range"),
        ]

    def __str__(self) -> str:
        return f"Permissions of {self.account}"

    def allows(self, asset_class: str) -> bool:
        # ETFs trade under the equity permission, as at every retail broker.
        if asset_class == AssetClass.ETF:
            asset_class = AssetClass.EQUITY
        return asset_class in self.asset_classes


class RiskLimit(models.Model):
    """Pre-trade limits of one account (SEC 15c3-5 style); a blank limit is not enforced."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="risk_limit")
    max_order_quantity = models.DecimalField(
        max_digits=QUANTITY_DIGITS,
        decimal_places=QUANTITY_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    max_order_notional = models.DecimalField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    max_position_quantity = models.DecimalField(
        max_digits=QUANTITY_DIGITS,
        decimal_places=QUANTITY_PLACES,
        null=True,
        blank=True,
        help_text="Largest absolute position in any one instrument",
    )
    max_gross_exposure = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True
    )
    daily_loss_limit = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True
    )
    max_orders_per_second = models.PositiveIntegerField(null=True, blank=True)
    max_concentration_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="An order putting more than this share of equity in one instrument is held",
    )

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(max_order_quantity__gt=0) | Q(max_order_quantity__isnull=True),
                name="max_order_quantity_positive",
            ),
            models.CheckConstraint(
                condition=Q(max_order_notional__gt=0) | Q(max_order_notional__isnull=True),
                name="max_order_notional_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Limits of {self.account}"


class Watchlist(models.Model):
    """The instruments a user watches, in their order: the desk shows them with live quotes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlist"
    )
    instruments = models.ManyToManyField(
        "instruments.Instrument", through="WatchlistEntry", related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Watchlist of {self.user}"


class WatchlistEntry(models.Model):
    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="entries")
    instrument = models.ForeignKey(
        "instruments.Instrument", on_delete=models.CASCADE, related_name="+"
    )
    position = models.PositiveIntegerField(help_text="Place in the list, from the top")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["watchlist", "instrument"], name="watched_once_per_list"
            )
        ]

    def __str__(self) -> str:
        return f"{self.watchlist}: {self.instrument}"
