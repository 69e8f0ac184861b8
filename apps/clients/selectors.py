"""Reads of clients and accounts, always narrowed to what the asking user may see."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from guardian.shortcuts import get_objects_for_user

from apps.clients.models import Account, Client


def clients_visible_to(user: AbstractBaseUser) -> QuerySet[Client]:
    """Clients the user acts for, plus those it holds a view permission on (globally for staff
    roles, per object for partners and account officers through django-guardian)."""
    if not user.is_authenticated:
        return Client.objects.none()
    permitted = get_objects_for_user(
        user, "clients.view_client", klass=Client, accept_global_perms=True
    )
    own = Client.objects.filter(clientuser__user=user)
    return Client.objects.filter(pk__in=permitted.values("pk")) | Client.objects.filter(
        pk__in=own.values("pk")
    )


def accounts_visible_to(user: AbstractBaseUser) -> QuerySet[Account]:
    """Accounts of the clients the user acts for, plus those it holds a view permission on."""
    if not user.is_authenticated:
        return Account.objects.none()
    permitted = get_objects_for_user(
        user, "clients.view_account", klass=Account, accept_global_perms=True
    )
    own = Account.objects.filter(client__clientuser__user=user)
    return (
        Account.objects.filter(pk__in=permitted.values("pk"))
        | Account.objects.filter(pk__in=own.values("pk"))
    ).select_related("client")


def accounts_tradable_by(user: AbstractBaseUser) -> QuerySet[Account]:
    """Accounts the user may place orders in: those of clients it acts for with trading rights."""
    if not user.is_authenticated:
        return Account.objects.none()
    return Account.objects.filter(client__clientuser__user=user, client__clientuser__can_trade=True)
