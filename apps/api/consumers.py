"""The trading stream at ``/stream``: what the SDK's ``TradingStream`` connects to.

Protocol (alpaca/trading/stream.py): the client sends
``{"action": "authenticate", "data": {"key_id": ..., "secret_key": ...}}`` and expects
``{"stream": "authorization", "data": {"status": "authorized", "action": "authenticate"}}``;
then ``{"action": "listen", "data": {"streams": ["trade_updates"]}}``, answered with
``{"stream": "listening", "data": {"streams": [...]}}``; then ``{"stream": "trade_updates",
"data": <TradeUpdate>}`` for each order event of the key's account. Frames are JSON text. The
market-data style ``{"action": "auth", "key": ..., "secret": ...}`` is accepted too.

Authentication is by key, not cookie, so this route sits outside the origin check (see
``brokerage/asgi.py``): a foreign page cannot ride on a browser's credentials here.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.api.services import api_key_authenticate
from apps.api.streaming import order_group, trade_update_payload
from apps.common.consumers import HandlersWithoutDatabase

AUTH_TIMEOUT_SECONDS = 10


class TradingStreamConsumer(HandlersWithoutDatabase, AsyncJsonWebsocketConsumer):
    without_database = frozenset({"order.update"})  # the message carries the order

    async def connect(self) -> None:
        self.account_id: str | None = None
        self.group: str | None = None
        self.listening = False
        await self.accept()
        self.auth_deadline = asyncio.get_running_loop().call_later(
            AUTH_TIMEOUT_SECONDS, lambda: asyncio.ensure_future(self._auth_timeout())
        )

    async def _auth_timeout(self) -> None:
        if self.account_id is None:
            await self._error("auth timeout")
            await self.close(code=4001)

    async def disconnect(self, code: int) -> None:
        self.auth_deadline.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            await self._error("invalid syntax")
            return
        action = content.get("action")
        data = content.get("data") if isinstance(content.get("data"), dict) else {}
        if action in ("authenticate", "auth"):
            key_id = data.get("key_id") or content.get("key")
            secret = data.get("secret_key") or content.get("secret")
            await self._authenticate(str(key_id or ""), str(secret or ""))
        elif action == "listen":
            if self.account_id is None:
                await self._error("unauthorized")
                return
            streams = data.get("streams") or []
            self.listening = "trade_updates" in streams
            if self.listening and self.group is None:
                self.group = order_group(self.account_id)
                await self.channel_layer.group_add(self.group, self.channel_name)
            elif not self.listening and self.group is not None:
                await self.channel_layer.group_discard(self.group, self.channel_name)
                self.group = None
            await self.send_json(
                {
                    "stream": "listening",
                    "data": {"streams": ["trade_updates"] if self.listening else []},
                }
            )
        else:
            await self._error("invalid action")

    async def _authenticate(self, key_id: str, secret: str) -> None:
        api_key = await database_sync_to_async(api_key_authenticate)(key_id=key_id, secret=secret)
        if api_key is None or not api_key.is_trading_key:
            await self.send_json(
                {
                    "stream": "authorization",
                    "data": {"status": "unauthorized", "action": "authenticate"},
                }
            )
            await self.close(code=4003)
            return
        self.account_id = str(api_key.account_id)
        self.auth_deadline.cancel()
        await self.send_json(
            {"stream": "authorization", "data": {"status": "authorized", "action": "authenticate"}}
        )

    async def _error(self, message: str) -> None:
        await self.send_json({"stream": "listening", "data": {"error": message}})

    async def order_update(self, message: dict[str, Any]) -> None:
        """Handler of the applier's ``{"type": "order.update", ...}`` group messages."""
        if not self.listening:
            return
        payload = trade_update_payload(message)  # the message carries the order: no read
        if payload is not None and payload["account_id"] == self.account_id:
            await self.send_json({"stream": "trade_updates", "data": payload})
