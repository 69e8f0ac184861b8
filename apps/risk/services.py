"""Risk managers' actions: kill switches. (Held-order decisions live with the order service:
apps.orders.services.order_approve_held / order_refuse_held.)"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from apps.clients.models import Account, Client
from apps.compliance.services import audit_record
from apps.matching.commands import mass_cancel_command, now_ns
from apps.matching.transport import publish_commands
from apps.orders.choices import OrderStatus
from apps.orders.models import Order
from apps.risk.choices import KillSwitchScope
from apps.risk.models import KillSwitch


@transaction.atomic
def kill_switch_engage(
    *,
    scope: str,
    reason: str,
    actor: AbstractBaseUser | None,
    client: Client | None = None,
    account: Account | None = None,
) -> KillSwitch:
    """Stop new orders for the firm, a client or an account, and cancel their open orders: held
    ones at once, the rest through a mass cancel to every shard after commit."""
    switch = KillSwitch.objects.create(
        scope=scope, client=client, account=account, reason=reason, set_by=actor
    )
    if scope == KillSwitchScope.FIRM:
        accounts: list[Account | None] = [None]
        held = Order.objects.filter(status=OrderStatus.HELD)
    elif scope == KillSwitchScope.CLIENT:
        accounts = list(client.accounts.all())
        held = Order.objects.filter(status=OrderStatus.HELD, account__client=client)
    else:
        accounts = [account]
        held = Order.objects.filter(status=OrderStatus.HELD, account=account)
    from apps.orders.services import (
        order_cancel,
    )  # the order service imports risk: no cycle at load

    for order in held:
        order_cancel(order=order, source="system", actor=actor)
    audit_record(
        action="risk.kill_switch_engaged",
        obj=switch,
        actor=actor,
        account_id=account.pk if account else None,
        changes={"scope": scope, "reason": reason},
    )

    def cancel_everywhere() -> None:
        ts = now_ns()
        commands = [mass_cancel_command(ts_ns=ts, account=target) for target in accounts]
        for shard in range(settings.ENGINE_SHARDS):
            publish_commands(shard, commands)

    transaction.on_commit(cancel_everywhere)
    return switch


@transaction.atomic
def kill_switch_release(*, switch: KillSwitch, actor: AbstractBaseUser | None) -> KillSwitch:
    switch.active = False
    switch.set_by = actor
    switch.save()
    audit_record(
        action="risk.kill_switch_released", obj=switch, actor=actor, account_id=switch.account_id
    )
    return switch
