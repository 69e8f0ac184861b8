"""Roles are Django groups with permissions; this module is the one place that defines them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.db import transaction

from apps.clients.choices import STAFF_ROLES, Role

_VIEW = ("view",)
_ALL = ("view", "add", "change", "delete")

# Model permissions per role: (app_label, model, actions). Object-level visibility for partners
# and account officers comes on top of this from django-guardian.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    Role.TRADER: [],
    Role.PARTNER: [],
    Role.MARKET_MAKER: [],
    Role.RISK_MANAGER: [
        ("clients", "client", _VIEW),
        ("clients", "account", _VIEW),
        ("clients", "risklimit", ("view", "change")),
        ("clients", "tradingpermission", _VIEW),
        ("instruments", "instrument", _VIEW),
        ("orders", "order", _VIEW),
        ("orders", "execution", _VIEW),
        ("positions", "position", _VIEW),
        ("positions", "cashbalance", _VIEW),
        ("compliance", "auditevent", _VIEW),
        ("risk", "riskalert", ("view", "change")),
        ("risk", "killswitch", ("view", "add", "change")),
        ("risk", "locate", _ALL),
    ],
    Role.COMPLIANCE_OFFICER: [
        ("clients", "client", ("view", "change")),
        ("clients", "account", _VIEW),
        ("clients", "tradingpermission", _VIEW),
        ("clients", "risklimit", _VIEW),
        ("instruments", "instrument", _VIEW),
        ("orders", "order", _VIEW),
        ("orders", "execution", _VIEW),
        ("positions", "position", _VIEW),
        ("positions", "journal", _VIEW),
        ("positions", "posting", _VIEW),
        ("compliance", "auditevent", _VIEW),
        ("compliance", "restrictedinstrument", _ALL),
        ("risk", "riskalert", _VIEW),
    ],
    Role.OPERATIONS: [
        ("clients", "partner", _ALL),
        ("clients", "client", ("view", "add", "change")),
        ("clients", "clientuser", _ALL),
        ("clients", "account", ("view", "add", "change")),
        ("clients", "tradingpermission", ("view", "add", "change")),
        ("clients", "risklimit", _VIEW),
        ("instruments", "venue", _ALL),
        ("instruments", "tradingsession", _ALL),
        ("instruments", "holiday", _ALL),
        ("instruments", "settlementcycle", _ALL),
        ("instruments", "instrument", ("view", "add", "change")),
        ("orders", "order", _VIEW),
        ("orders", "execution", _VIEW),
        ("positions", "position", _VIEW),
        ("positions", "cashbalance", _VIEW),
        ("positions", "ledgeraccount", _VIEW),
        ("positions", "journal", _VIEW),
        ("positions", "posting", _VIEW),
    ],
}


def requires_otp(user: AbstractBaseUser) -> bool:
    """Staff roles (and superusers) must have a verified second factor for every page."""
    if user.is_superuser or user.is_staff:
        return True
    return user.groups.filter(name__in=[str(role) for role in STAFF_ROLES]).exists()


def user_roles(user: AbstractBaseUser) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


@transaction.atomic
def roles_sync() -> dict[str, Group]:
    """Create every role group and set exactly its permissions. Idempotent."""
    groups: dict[str, Group] = {}
    for role in Role:
        group, _ = Group.objects.get_or_create(name=str(role))
        if role == Role.ADMIN:
            permissions = Permission.objects.all()
        else:
            permissions = [
                Permission.objects.get(content_type__app_label=app, codename=f"{action}_{model}")
                for app, model, actions in ROLE_PERMISSIONS[role]
                for action in actions
            ]
        group.permissions.set(permissions)
        groups[str(role)] = group
    return groups
