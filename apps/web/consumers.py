"""``/ws/orders/``: the desk's order updates, as the applier sends them after its commit.

Session-cookie authenticated (asgi.py puts browser sockets behind the origin check). Anonymous
users are refused (close 4401); so is staff whose session has not passed the second factor.
The socket joins ``orders.<account_id>`` only for accounts the user may see: the ones named in
``?accounts=<id>,<id>`` or, without it, every account the user may trade.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import AbstractBaseUser
from django_otp import DEVICE_ID_SESSION_KEY

from apps.clients.roles import requires_otp
from apps.clients.selectors import accounts_tradable_by, accounts_visible_to
from apps.common.consumers import HandlersWithoutDatabase

MAX_ACCOUNTS = 50
CLOSE_UNAUTHENTICATED = 4401
ORDER_GROUP = "orders.{account_id}"  # the applier's group name (apps.orders.applier)
ORDER_CARRIED = ("order", "instrument", "replaced_by")  # OrderUpdate.as_message's order


def _account_ids(user: AbstractBaseUser, asked: list[str]) -> list[str]:
    if asked:
        visible = accounts_visible_to(user).filter(pk__in=asked[:MAX_ACCOUNTS])
    else:
        visible = accounts_tradable_by(user).order_by("number")[:MAX_ACCOUNTS]
    return [str(pk) for pk in visible.values_list("pk", flat=True)]


def _may_connect(user: AbstractBaseUser, session: Any) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    # Staff pages need a verified second factor; so does their socket.
    return not requires_otp(user) or bool(session and session.get(DEVICE_ID_SESSION_KEY))


def _parse_accounts(query_string: bytes) -> list[str]:
    """Account ids asked for in ``?accounts=``; anything that is not a UUID is dropped."""
    raw = parse_qs(query_string.decode("latin-1")).get("accounts", [""])[0]
    ids = []
    for part in raw.split(","):
        try:
            ids.append(str(uuid.UUID(part)))
        except ValueError:
            continue
    return ids


class DeskOrdersConsumer(HandlersWithoutDatabase, AsyncJsonWebsocketConsumer):
    """Forwards ``{"type": "order.update", "event", "order_id", ...}`` to the browser."""

    without_database = frozenset({"order.update"})

    async def connect(self) -> None:
        user = self.scope.get("user")
        session = self.scope.get("session")
        # Accept, then close: a close before accept becomes an HTTP 403 and the page never sees
        # the 4401 that tells it to sign in again (the same as /ws/market/).
        await self.accept()
        if not await database_sync_to_async(_may_connect)(user, session):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        asked = _parse_accounts(self.scope.get("query_string", b""))
        account_ids = await database_sync_to_async(_account_ids)(user, asked)
        self.joined = [ORDER_GROUP.format(account_id=pk) for pk in account_ids]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.send_json({"type": "subscribed", "accounts": account_ids})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("action") == "ping":
            await self.send_json({"type": "pong"})

    async def order_update(self, message: dict[str, Any]) -> None:
        """Handler of the applier's group messages: the desk announces the event and reloads
        its blotters, so the order the message carries (in the database's terms) stays here."""
        await self.send_json({k: v for k, v in message.items() if k not in ORDER_CARRIED})
