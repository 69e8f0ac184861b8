"""Writes of the partner API: keys, partner-opened accounts, bank links, transfers, journals.

One function per use case, keyword-only, transactional, audited. The API views call these and
nothing else writes these rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.api import keys
from apps.api.bank_simulator import AchRail
from apps.api.choices import (
    TRANSFER_FINAL_STATUSES,
    AchRelationshipStatus,
    TransferDirection,
    TransferStatus,
)
from apps.api.models import AchRelationship, ApiKey, PartnerAccountProfile, Transfer
from apps.api.selectors import CashJournal, active_api_key
from apps.clients.choices import AccountStatus, AccountType, AssetClass, ClientType, KycStatus
from apps.clients.models import Account, Client, Partner
from apps.clients.services import account_open
from apps.common.errors import Conflict, DomainError, NotFound, ValidationFailed
from apps.compliance.services import audit_record
from apps.orders.choices import OPEN_STATUSES, OrderSource
from apps.orders.services import orders_cancel_all, position_close
from apps.positions.models import CashBalance, Journal, Position
from apps.positions.services import cash_deposit, cash_journal, cash_withdrawal

# How often last_used_at is written: once a minute is enough to answer "is this key in use?"
# without turning every authenticated read into a write.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


# --------------------------------------------------------------------------------------------
# API keys


@transaction.atomic
def api_key_issue(
    *,
    account: Account | None = None,
    partner: Partner | None = None,
    label: str = "",
    key_id: str | None = None,
    secret: str | None = None,
    actor: Any = None,
) -> tuple[ApiKey, str]:
    """Issue a trading key (``account``) or a broker key (``partner``); returns the key and its
    secret, which is not stored and cannot be shown again. ``key_id``/``secret`` are for the
    demo seed, which derives stable ones; everything else lets them be generated."""
    if (account is None) == (partner is None):
        raise ValidationFailed("invalid_owner", "A key belongs to exactly one account or partner.")
    prefix = keys.KEY_ID_PREFIX_TRADING if account is not None else keys.KEY_ID_PREFIX_BROKER
    secret = secret or keys.new_secret()
    salt = keys.new_salt()
    api_key = ApiKey.objects.create(
        key_id=key_id or keys.new_key_id(prefix),
        secret_salt=salt,
        secret_hash=keys.secret_digest(secret, salt),
        account=account,
        partner=partner,
        label=label,
    )
    audit_record(
        action="api_key.issued",
        obj=api_key,
        actor=actor,
        account_id=account.pk if account is not None else None,
        changes={"key_id": api_key.key_id, "partner": partner.pk if partner else None},
    )
    return api_key, secret


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Any = None) -> ApiKey:
    """Revoke a key at once; requests already past authentication finish, no new one passes."""
    updated = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    api_key.refresh_from_db(fields=["revoked_at"])
    if updated:
        audit_record(
            action="api_key.revoked",
            obj=api_key,
            actor=actor,
            account_id=api_key.account_id,
            changes={"key_id": api_key.key_id},
        )
    return api_key


def api_key_authenticate(*, key_id: str, secret: str) -> ApiKey | None:
    """The active key with this id and secret, or None. Records the use at most once a minute
    (a compare-and-set update, so concurrent requests do not queue on the row).

    A trading key comes with what an order of its account reads (the client, the trading
    permissions and the risk limits), in the same query.
    """
    api_key = active_api_key(key_id=key_id)
    if api_key is None or not keys.secret_matches(secret, api_key.secret_salt, api_key.secret_hash):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


# --------------------------------------------------------------------------------------------
# Accounts opened by partners

# Alpaca's asset classes to ours: us_equity covers equities and ETFs.
ENABLED_ASSETS_TO_CLASSES = {
    "us_equity": [AssetClass.EQUITY, AssetClass.ETF],
    "crypto": [AssetClass.CRYPTO],
    "us_option": [AssetClass.OPTION],
}
# ISO 3166 alpha-3 codes partners send most often (Alpaca's examples use alpha-3).
ALPHA3_TO_ALPHA2 = {
    "USA": "US", "GBR": "GB", "CAN": "CA", "DEU": "DE", "FRA": "FR", "ITA": "IT", "ESP": "ES",
    "NLD": "NL", "BEL": "BE", "CHE": "CH", "AUT": "AT", "IRL": "IE", "SWE": "SE", "NOR": "NO",
    "DNK": "DK", "FIN": "FI", "POL": "PL", "PRT": "PT", "AUS": "AU", "NZL": "NZ", "JPN": "JP",
    "SGP": "SG", "HKG": "HK", "IND": "IN", "BRA": "BR", "MEX": "MX", "ARG": "AR", "CHL": "CL",
    "COL": "CO", "ZAF": "ZA", "ISR": "IL", "ARE": "AE",
}  # fmt: skip


def country_alpha2(value: str, *, field: str) -> str:
    code = (value or "").strip().upper()
    if len(code) == 2 and code.isalpha():
        return code
    if code in ALPHA3_TO_ALPHA2:
        return ALPHA3_TO_ALPHA2[code]
    raise ValidationFailed(
        "invalid_country", f"{field} must be an ISO 3166 country code, not {value!r}.", field=field
    )


@dataclass(frozen=True)
class AccountApplication:
    """What ``POST /v1/accounts`` carries, already validated for shape by the API serializer."""

    contact: dict[str, Any]
    identity: dict[str, Any]
    disclosures: dict[str, Any]
    agreements: list[dict[str, Any]]
    trusted_contact: dict[str, Any] | None = None
    enabled_assets: list[str] | None = None
    currency: str = "USD"


def _client_fields(contact: dict[str, Any], identity: dict[str, Any]) -> dict[str, Any]:
    """Our Client columns from Alpaca's contact/identity blocks (only the keys present)."""
    fields: dict[str, Any] = {}
    names = [identity.get(k) for k in ("given_name", "middle_name", "family_name")]
    if any(names):
        fields["legal_name"] = " ".join(n for n in names if n)
    if "email_address" in contact:
        fields["email"] = contact["email_address"] or ""
    if "phone_number" in contact:
        fields["phone"] = contact["phone_number"] or ""
    if contact.get("street_address") is not None:
        fields["street_address"] = ", ".join(contact["street_address"])[:200]
    if "city" in contact:
        fields["city"] = contact["city"] or ""
    if "postal_code" in contact:
        fields["postal_code"] = contact["postal_code"] or ""
    country = contact.get("country") or identity.get("country_of_tax_residence")
    if country:
        fields["country"] = country_alpha2(country, field="contact.country")
    if identity.get("date_of_birth"):
        try:
            fields["date_of_birth"] = dt.date.fromisoformat(identity["date_of_birth"])
        except ValueError as exc:
            raise ValidationFailed(
                "invalid_date_of_birth",
                "identity.date_of_birth must be YYYY-MM-DD.",
                field="identity.date_of_birth",
            ) from exc
    if identity.get("tax_id"):
        fields["tax_id"] = identity["tax_id"]
    return fields


@transaction.atomic
def partner_account_open(
    *, partner: Partner, application: AccountApplication, actor_label: str
) -> Account:
    """A retail client and its account, opened by a partner that has done the KYC itself (the
    sandbox behaviour: the account is active at once). A margin agreement makes it a margin
    account; ``enabled_assets`` chooses the asset classes (US equities by default)."""
    if not partner.is_active:
        raise Conflict("partner_inactive", "This partner may not open accounts.")
    fields = _client_fields(application.contact, application.identity)
    if "date_of_birth" not in fields:
        raise ValidationFailed(
            "missing_date_of_birth",
            "identity.date_of_birth is required for a natural person.",
            field="identity.date_of_birth",
        )
    if "country" not in fields:
        raise ValidationFailed(
            "missing_country",
            "identity.country_of_tax_residence is required.",
            field="identity.country_of_tax_residence",
        )
    agreements = {a.get("agreement") for a in application.agreements}
    if not agreements & {"customer_agreement", "account_agreement"}:
        raise ValidationFailed(
            "agreement_missing",
            "The customer agreement must be signed to open an account.",
            field="agreements",
        )
    enabled = application.enabled_assets or ["us_equity"]
    asset_classes: list[str] = []
    for name in enabled:
        if name not in ENABLED_ASSETS_TO_CLASSES:
            raise ValidationFailed(
                "invalid_enabled_assets",
                f"enabled_assets may hold us_equity, us_option, crypto; not {name!r}.",
                field="enabled_assets",
            )
        asset_classes.extend(ENABLED_ASSETS_TO_CLASSES[name])
    client = Client.objects.create(
        client_type=ClientType.RETAIL,
        kyc_status=KycStatus.APPROVED,
        partner=partner,
        **fields,
    )
    is_margin = "margin_agreement" in agreements
    account = account_open(
        client=client,
        account_type=AccountType.MARGIN if is_margin else AccountType.CASH,
        base_currency=application.currency,
        partner=partner,
        asset_classes=asset_classes,
        option_level=2 if "us_option" in enabled and "options_agreement" in agreements else 0,
        status=AccountStatus.ACTIVE,
    )
    identity = {k: v for k, v in application.identity.items() if k != "tax_id"}
    PartnerAccountProfile.objects.create(
        account=account,
        contact=application.contact,
        identity=identity,
        disclosures=application.disclosures,
        agreements=application.agreements,
        trusted_contact=application.trusted_contact,
        enabled_assets=enabled,
    )
    audit_record(
        action="account.opened_by_partner",
        obj=account,
        actor_label=actor_label,
        account_id=account.pk,
        changes={"partner": partner.pk, "client": client.pk, "enabled_assets": enabled},
    )
    return account


@transaction.atomic
def partner_account_update(
    *,
    account: Account,
    contact: dict[str, Any] | None = None,
    identity: dict[str, Any] | None = None,
    disclosures: dict[str, Any] | None = None,
    trusted_contact: dict[str, Any] | None = None,
    actor_label: str,
) -> Account:
    """Change the contact, identity (name and income ranges, not the tax id or birth date),
    disclosures or trusted contact of a partner's account."""
    account = Account.objects.select_for_update().select_related("client").get(pk=account.pk)
    if account.status == AccountStatus.ACCOUNT_CLOSED:
        raise Conflict("account_closed", "A closed account cannot be updated.")
    profile, _ = PartnerAccountProfile.objects.get_or_create(account=account)
    contact = contact or {}
    identity = {k: v for k, v in (identity or {}).items() if k not in ("tax_id", "date_of_birth")}
    client_fields = _client_fields(contact, {**profile.identity, **identity} if identity else {})
    client_fields.pop("date_of_birth", None)
    client = account.client
    for name, value in client_fields.items():
        setattr(client, name, value)
    if client_fields:
        client.save()
    profile.contact = {**profile.contact, **contact}
    profile.identity = {**profile.identity, **identity}
    if disclosures:
        profile.disclosures = {**profile.disclosures, **disclosures}
    if trusted_contact:
        profile.trusted_contact = {**(profile.trusted_contact or {}), **trusted_contact}
    profile.save()
    # ACCOUNT_UPDATED is a notification in Alpaca's lifecycle, not a state that stops trading:
    # the account keeps its status and the update goes to the audit trail.
    account.save(update_fields=["updated_at"])
    audit_record(
        action="account.updated_by_partner",
        obj=account,
        actor_label=actor_label,
        account_id=account.pk,
        changes={"client": sorted(client_fields), "profile": sorted({*contact, *identity})},
    )
    return account


@transaction.atomic
def partner_account_close(*, account: Account, actor_label: str) -> Account:
    """Close an account that holds nothing: no cash, no position, no open order, no transfer
    in flight (Alpaca asks partners to liquidate and withdraw first; so do we).

    Locks the account row, so a transfer or order cannot slip in between check and close.
    """
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.status == AccountStatus.ACCOUNT_CLOSED:
        return account
    if (
        CashBalance.objects.filter(account=account)
        .filter(~Q(settled=0) | ~Q(unsettled=0) | ~Q(reserved=0))
        .exists()
    ):
        raise Conflict("account_has_cash", "Withdraw all cash before closing the account.")
    if Position.objects.filter(account=account).exclude(quantity=0).exists():
        raise Conflict("account_has_positions", "Close all positions before closing the account.")
    if account.orders.filter(status__in=OPEN_STATUSES).exists():
        raise Conflict("account_has_open_orders", "Cancel all open orders first.")
    if account.transfers.exclude(status__in=TRANSFER_FINAL_STATUSES).exists():
        raise Conflict("account_has_pending_transfers", "A transfer is still in flight.")
    previous = account.status
    account.status = AccountStatus.ACCOUNT_CLOSED
    account.save(update_fields=["status", "updated_at"])
    ApiKey.objects.filter(account=account, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    audit_record(
        action="account.closed",
        obj=account,
        actor_label=actor_label,
        account_id=account.pk,
        changes={"status": [previous, AccountStatus.ACCOUNT_CLOSED]},
    )
    return account


# --------------------------------------------------------------------------------------------
# Funding: ACH relationships, transfers, cash journals


@transaction.atomic
def ach_relationship_create(
    *,
    account: Account,
    account_owner_name: str,
    bank_account_type: str,
    bank_account_number: str,
    bank_routing_number: str,
    nickname: str = "",
    actor_label: str,
) -> AchRelationship:
    """Link an outside bank account. The simulated rail approves a well-formed routing number
    at once (a real one would send micro-deposits first)."""
    if account.status == AccountStatus.ACCOUNT_CLOSED:
        raise Conflict("account_closed", "The account is closed.")
    if not AchRail.routing_number_is_valid(bank_routing_number):
        raise ValidationFailed(
            "invalid_routing_number",
            "bank_routing_number must be a 9-digit ABA number with a valid checksum.",
            field="bank_routing_number",
        )
    if account.ach_relationships.exclude(status=AchRelationshipStatus.CANCELED).exists():
        # Alpaca allows one active ACH relationship per account.
        raise Conflict("ach_relationship_exists", "The account already has an ACH relationship.")
    relationship = AchRelationship.objects.create(
        account=account,
        account_owner_name=account_owner_name,
        bank_account_type=bank_account_type,
        bank_account_number=bank_account_number,
        bank_routing_number=bank_routing_number,
        nickname=nickname,
        status=AchRelationshipStatus.APPROVED,
    )
    audit_record(
        action="ach_relationship.created",
        obj=relationship,
        actor_label=actor_label,
        account_id=account.pk,
        changes={"routing": bank_routing_number, "last4": bank_account_number[-4:]},
    )
    return relationship


@transaction.atomic
def ach_relationship_cancel(*, relationship: AchRelationship, actor_label: str) -> None:
    relationship = AchRelationship.objects.select_for_update().get(pk=relationship.pk)
    if relationship.transfers.exclude(status__in=TRANSFER_FINAL_STATUSES).exists():
        raise Conflict("transfer_in_flight", "A transfer on this relationship is in flight.")
    relationship.status = AchRelationshipStatus.CANCELED
    relationship.save(update_fields=["status", "updated_at"])
    audit_record(
        action="ach_relationship.canceled",
        obj=relationship,
        actor_label=actor_label,
        account_id=relationship.account_id,
    )


def cash_withdrawable(*, account: Account, currency: str = "USD") -> Decimal:
    """Settled cash not held for open orders nor promised to outgoing transfers in flight."""
    balance = CashBalance.objects.filter(account=account, currency=currency).first()
    settled = balance.settled - balance.reserved if balance else Decimal(0)
    pending_out = sum(
        (
            t.amount
            for t in Transfer.objects.filter(
                account=account,
                currency=currency,
                direction=TransferDirection.OUTGOING,
            ).exclude(status__in=TRANSFER_FINAL_STATUSES)
        ),
        Decimal(0),
    )
    return max(Decimal(0), settled - pending_out)


@transaction.atomic
def transfer_request(
    *,
    account: Account,
    relationship: AchRelationship,
    direction: str,
    amount: Decimal,
    actor_label: str,
) -> Transfer:
    """Queue an ACH transfer; the bank rail settles it later (``transfer_settle``, a Celery task
    started after this commits). An outgoing transfer is refused now if the cash is not there,
    and checked again at settlement.

    Locks the account row so two withdrawals cannot both pass the cash check.
    """
    account = Account.objects.select_for_update().get(pk=account.pk)
    if not account.is_tradable:
        raise Conflict("account_not_active", "Transfers need an active account.")
    if relationship.account_id != account.pk:
        raise NotFound("relationship_not_found", "No such ACH relationship on this account.")
    if relationship.status != AchRelationshipStatus.APPROVED:
        raise Conflict("relationship_not_approved", "The ACH relationship is not approved.")
    if amount <= 0:
        raise ValidationFailed("invalid_amount", "amount must be positive.", field="amount")
    if direction == TransferDirection.OUTGOING and amount > cash_withdrawable(account=account):
        raise Conflict(
            "insufficient_funds", "The withdrawal exceeds the cash available to withdraw."
        )
    transfer = Transfer.objects.create(
        account=account,
        relationship=relationship,
        direction=direction,
        amount=amount,
        currency=account.base_currency,
    )
    audit_record(
        action="transfer.requested",
        obj=transfer,
        actor_label=actor_label,
        account_id=account.pk,
        changes={"direction": direction, "amount": str(amount)},
    )
    from apps.api.tasks import transfer_settle_task  # the task module imports this one

    transaction.on_commit(lambda: transfer_settle_task.delay(str(transfer.pk)))
    return transfer


def transfer_settle(*, transfer_id: str) -> Transfer:
    """Send a queued transfer over the simulated ACH rail and book the outcome: a deposit or a
    withdrawal journal and COMPLETE, or REJECTED with the rail's reason. Idempotent: a transfer
    already final is returned unchanged.

    Holds a SELECT FOR UPDATE lock on the transfer row for the whole booking.
    """
    with transaction.atomic(durable=True):
        transfer = (
            Transfer.objects.select_for_update()
            .select_related("account", "relationship")
            .get(pk=transfer_id)
        )
        if transfer.status in TRANSFER_FINAL_STATUSES:
            return transfer
        outcome = AchRail().submit(
            direction=transfer.direction,
            amount=transfer.amount,
            routing_number=transfer.relationship.bank_routing_number,
            account_number=transfer.relationship.bank_account_number,
        )
        if not outcome.accepted:
            _transfer_finish(transfer, TransferStatus.REJECTED, reason=outcome.reason)
            return transfer
        reference = f"transfer:{transfer.pk}"
        try:
            with transaction.atomic():
                if transfer.direction == TransferDirection.INCOMING:
                    journal = cash_deposit(
                        account=transfer.account,
                        amount=transfer.amount,
                        currency=transfer.currency,
                        reference=reference,
                    )
                else:
                    journal = cash_withdrawal(
                        account=transfer.account,
                        amount=transfer.amount,
                        currency=transfer.currency,
                        reference=reference,
                    )
        except (ValidationFailed, Conflict) as exc:
            _transfer_finish(transfer, TransferStatus.REJECTED, reason=exc.message)
            return transfer
        transfer.journal = journal
        _transfer_finish(transfer, TransferStatus.COMPLETE)
        return transfer


def _transfer_finish(transfer: Transfer, status: str, *, reason: str = "") -> None:
    transfer.status = status
    transfer.reason = reason[:200]
    transfer.settled_at = timezone.now()
    transfer.save(update_fields=["status", "reason", "settled_at", "journal", "updated_at"])
    audit_record(
        action=f"transfer.{status.lower()}",
        obj=transfer,
        actor_label="system:ach-simulator",
        account_id=transfer.account_id,
        changes={"status": status, "reason": reason},
    )


@transaction.atomic
def transfer_cancel(*, transfer: Transfer, actor_label: str) -> Transfer:
    """Cancel a transfer the rail has not taken yet."""
    updated = Transfer.objects.filter(pk=transfer.pk, status=TransferStatus.QUEUED).update(
        status=TransferStatus.CANCELED, updated_at=timezone.now()
    )
    transfer.refresh_from_db()
    if not updated:
        raise Conflict(
            "transfer_not_cancelable", f"A {transfer.status} transfer cannot be canceled."
        )
    audit_record(
        action="transfer.canceled",
        obj=transfer,
        actor_label=actor_label,
        account_id=transfer.account_id,
    )
    return transfer


@transaction.atomic
def partner_cash_journal(
    *,
    partner: Partner,
    from_account: Account,
    to_account: Account,
    amount: Decimal,
    description: str = "",
    actor_label: str,
) -> Journal:
    """JNLC: move cash between two accounts of the same partner, at once (both are ours)."""
    for account in (from_account, to_account):
        if account.partner_id != partner.pk:
            raise NotFound("account_not_found", "No such account.")
        if not account.is_tradable:
            raise Conflict("account_not_active", f"Account {account.number} is not active.")
    if from_account.pk == to_account.pk:
        raise ValidationFailed("same_account", "from_account and to_account must differ.")
    journal = cash_journal(
        from_account=from_account,
        to_account=to_account,
        amount=amount,
        reference=f"jnlc:{timezone.now():%Y%m%d%H%M%S%f}:{from_account.pk}:{to_account.pk}",
        description=description or f"JNLC {from_account.number} -> {to_account.number}",
    )
    audit_record(
        action="journal.cash",
        obj=journal,
        actor_label=actor_label,
        account_id=from_account.pk,
        changes={"to": str(to_account.pk), "amount": str(amount)},
    )
    return journal


def journal_cancel(*, journal: CashJournal) -> None:
    """``DELETE /v1/journals/{id}``. Alpaca cancels a journal only while it is pending or
    queued; ours are executed as they are created (both accounts are on our books), so none can
    be, and the refusal is Alpaca's: reverse an executed journal with one the other way."""
    raise DomainError(
        "journal_not_cancelable",
        f"The journal {journal.journal_id} is not pending or queued: it was executed "
        f"{journal.created_at:%Y-%m-%d %H:%M:%S} UTC. A journal the other way reverses it.",
    )


# --------------------------------------------------------------------------------------------
# Positions


@dataclass(frozen=True)
class CloseOutcome:
    instrument: Any
    order: Any = None
    error: DomainError | None = None


def positions_close_all(
    *, account: Account, cancel_orders: bool = False, actor_label: str
) -> list[CloseOutcome]:
    """A closing market order for every open position (after canceling open orders when asked);
    a position whose close is refused gets its error instead of an order, and the others go on
    (Alpaca answers this with a 207 per position)."""
    if cancel_orders:
        orders_cancel_all(account=account, source=OrderSource.API, actor_label=actor_label)
    outcomes = []
    positions = (
        Position.objects.filter(account=account)
        .exclude(quantity=0)
        .select_related("instrument__venue")
        .order_by("instrument__symbol")
    )
    for position in positions:
        try:
            order = position_close(
                account=account,
                instrument=position.instrument,
                source=OrderSource.API,
                actor_label=actor_label,
            )
        except DomainError as exc:
            outcomes.append(CloseOutcome(position.instrument, error=exc))
        else:
            outcomes.append(CloseOutcome(position.instrument, order=order))
    return outcomes
