"""What the project's WebSocket consumers share."""

from __future__ import annotations

from typing import Any

from channels.consumer import get_handler_name


class HandlersWithoutDatabase:
    """Channels closes stale database connections before every message a consumer handles: a
    hop to the process's one thread for synchronous code and back, shared by every consumer of
    the process. A consumer lists in ``without_database`` the channel-layer message types whose
    handlers touch no database, and those are handled at once. (A handler that reads the
    database goes through ``database_sync_to_async``, which closes stale connections itself.)"""

    without_database: frozenset[str] = frozenset()

    async def dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") in self.without_database:
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)
