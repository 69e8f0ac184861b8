"""Writes for partners, clients and accounts: one function per use case, each audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import connection, transaction
from guardian.shortcuts import assign_perm

from apps.clients.choices import AccountStatus, AccountType
from apps.clients.models import (
    Account,
    Client,
    Partner,
    RiskLimit,
    TradingPermission,
    Watchlist,
    WatchlistEntry,
)
from apps.compliance.services import audit_record
from apps.instruments.models import Instrument

# A first watchlist: the demo's most traded names.
DEFAULT_WATCHLIST = ["AAPL", "MSFT", "NVDA", "TSLA", "SPY", "QQQ", "BTC-USD", "ETH-USD"]
WATCHLIST_MAX = 30


def next_account_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('clients_account_number_seq')")
        (value,) = cursor.fetchone()
    return f"BRK{value:08d}"


@transaction.atomic
def partner_create(*, name: str, actor: AbstractBaseUser | None = None) -> Partner:
    """A partner with its own group; permissions on what it opens are granted to that group."""
    group, _ = Group.objects.get_or_create(name=f"partner:{name}")
    partner = Partner.objects.create(name=name, group=group)
    audit_record(action="partner.created", obj=partner, actor=actor, changes={"name": name})
    return partner


def grant_partner_visibility(
    *, partner: Partner, client: Client, account: Account | None = None
) -> None:
    """Let the partner's logins see (and operate) the client and account it opened."""
    assign_perm("clients.view_client", partner.group, client)
    assign_perm("clients.change_client", partner.group, client)
    if account is not None:
        assign_perm("clients.view_account", partner.group, account)
        assign_perm("clients.change_account", partner.group, account)


@transaction.atomic
def account_open(
    *,
    client: Client,
    account_type: str = AccountType.CASH,
    base_currency: str = "USD",
    partner: Partner | None = None,
    asset_classes: list[str] | None = None,
    option_level: int = 0,
    short_selling: bool = False,
    risk_limits: dict[str, Any] | None = None,
    number: str | None = None,
    status: str = AccountStatus.ACTIVE,
    actor: AbstractBaseUser | None = None,
) -> Account:
    """Open an account with its trading permissions and risk limits in one transaction.

    Margin and short selling are only granted on margin accounts; a cash account asking for
    them gets neither (Reg T: short sales need a margin account).
    """
    is_margin = account_type == AccountType.MARGIN
    account = Account.objects.create(
        number=number or next_account_number(),
        client=client,
        account_type=account_type,
        base_currency=base_currency,
        partner=partner,
        status=status,
    )
    TradingPermission.objects.create(
        account=account,
        asset_classes=list(asset_classes or []),
        option_level=option_level,
        short_selling=short_selling and is_margin,
        margin=is_margin,
    )
    RiskLimit.objects.create(account=account, **(risk_limits or {}))
    if partner is not None:
        grant_partner_visibility(partner=partner, client=client, account=account)
    audit_record(
        action="account.opened",
        obj=account,
        actor=actor,
        account_id=account.pk,
        changes={"number": account.number, "type": account_type, "client": client.pk},
    )
    return account


def watchlist_symbols(*, user: AbstractBaseUser) -> list[str]:
    """The user's watchlist, top first; a first visit gets the default list, saved."""
    entries = WatchlistEntry.objects.filter(watchlist__user=user)
    symbols = list(entries.values_list("instrument__symbol", flat=True))
    if symbols or Watchlist.objects.filter(user=user).exists():  # one query on most visits
        return symbols
    watchlist, created = Watchlist.objects.get_or_create(user=user)
    if created:
        _watchlist_set(watchlist, DEFAULT_WATCHLIST)
    return list(entries.values_list("instrument__symbol", flat=True))


@transaction.atomic
def watchlist_add(*, user: AbstractBaseUser, symbol: str) -> list[str]:
    """Put ``symbol`` at the top of the user's watchlist (known instruments only; at most
    WATCHLIST_MAX names, the oldest at the bottom dropped)."""
    symbols = watchlist_symbols(user=user)
    if symbol not in symbols and Instrument.objects.filter(symbol=symbol).exists():
        _watchlist_set(Watchlist.objects.get(user=user), [symbol, *symbols][:WATCHLIST_MAX])
    return watchlist_symbols(user=user)


@transaction.atomic
def watchlist_remove(*, user: AbstractBaseUser, symbol: str) -> list[str]:
    symbols = watchlist_symbols(user=user)
    if symbol in symbols:
        symbols.remove(symbol)
        _watchlist_set(Watchlist.objects.get(user=user), symbols)
    return symbols


def _watchlist_set(watchlist: Watchlist, symbols: list[str]) -> None:
    instruments = Instrument.objects.in_bulk(symbols, field_name="symbol")
    watchlist.entries.all().delete()
    WatchlistEntry.objects.bulk_create(
        WatchlistEntry(watchlist=watchlist, instrument=instruments[symbol], position=place)
        for place, symbol in enumerate(s for s in symbols if s in instruments)
    )
    watchlist.save(update_fields=["updated_at"])
