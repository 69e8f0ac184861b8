"""API keys, and the partner-facing funding records (bank relationships, transfers, KYC profile)
that the broker API needs and no other app keeps yet."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from apps.api.choices import (
    AchRelationshipStatus,
    BankAccountType,
    TransferDirection,
    TransferStatus,
)
from apps.clients.models import Account, Partner
from apps.common.decimals import MONEY_DIGITS, MONEY_PLACES, plain


class ApiKey(models.Model):
    """A credential for the REST and streaming API.

    A trading key (``account`` set) acts for one account through the trading API; a broker key
    (``partner`` set) acts for every account the partner opened, through the broker API. Only an
    HMAC-SHA256 of the secret under a per-key salt is stored: the secret is shown once, at issue.
    A slow password hash is not needed because the secret is 160 random bits, not a password.
    """

    key_id = models.CharField(max_length=32, unique=True)
    secret_salt = models.CharField(max_length=32)
    secret_hash = models.CharField(max_length=64)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys"
    )
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys"
    )
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [
            # Exactly one owner: an account (trading key) or a partner (broker key).
            models.CheckConstraint(
                condition=Q(account__isnull=False, partner__isnull=True)
                | Q(account__isnull=True, partner__isnull=False),
                name="api_key_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.key_id

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def is_trading_key(self) -> bool:
        return self.account_id is not None

    @property
    def is_partner_key(self) -> bool:
        return self.partner_id is not None

    @property
    def actor_label(self) -> str:
        """How the audit trail names whoever used this key."""
        return f"api-key:{self.key_id}"


class PartnerAccountProfile(models.Model):
    """The onboarding data a partner sent with ``POST /v1/accounts`` that our Client row has no
    column for (disclosures, signed agreements, trusted contact, the identity details beyond
    name and birth date), kept as the partner sent them so ``GET`` can return them."""

    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, primary_key=True, related_name="partner_profile"
    )
    contact = models.JSONField(default=dict, blank=True)
    identity = models.JSONField(default=dict, blank=True)
    disclosures = models.JSONField(default=dict, blank=True)
    agreements = models.JSONField(default=list, blank=True)
    trusted_contact = models.JSONField(null=True, blank=True)
    enabled_assets = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Profile of {self.account}"


class AchRelationship(models.Model):
    """A client's outside bank account, linked for ACH transfers."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="ach_relationships")
    account_owner_name = models.CharField(max_length=200)
    bank_account_type = models.CharField(max_length=10, choices=BankAccountType.choices)
    bank_account_number = models.CharField(max_length=34)
    bank_routing_number = models.CharField(max_length=9)
    nickname = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=10, choices=AchRelationshipStatus.choices, default=AchRelationshipStatus.QUEUED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "ACH relationship"

    def __str__(self) -> str:
        return f"{self.account} {self.nickname or self.bank_account_number[-4:]}"


class Transfer(models.Model):
    """Cash moving between a client's bank and their brokerage account over the (simulated) ACH
    rail. It is booked to the ledger only when the rail settles it, never at request time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="transfers")
    relationship = models.ForeignKey(
        AchRelationship, on_delete=models.PROTECT, related_name="transfers"
    )
    transfer_type = models.CharField(max_length=10, default="ach")
    direction = models.CharField(max_length=10, choices=TransferDirection.choices)
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(
        max_length=20, choices=TransferStatus.choices, default=TransferStatus.QUEUED
    )
    reason = models.CharField(max_length=200, blank=True)
    journal = models.OneToOneField(
        "positions.Journal",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfer",
        help_text="The ledger journal that booked the settled transfer",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {plain(self.amount)} {self.currency} ({self.status})"
