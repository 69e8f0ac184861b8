"""The market data process's reading of the matchers: its own consumer group, ``marketdata``,
on every shard's output stream, so it neither competes with nor waits for the applier.

The first start creates the group at the beginning of the stream: ``book`` events carry each
level's absolute quantity, so replaying the whole stream rebuilds the book exactly. After a
crash, entries delivered but not acknowledged are read again first (and re-applying them is
harmless for the same reason). Entries are acknowledged after Redis holds their effect.
"""

from __future__ import annotations

import logging
import threading

import redis
from django.conf import settings

from apps.marketdata.services import EngineBookProjector
from apps.matching.transport import decode_output_entry, output_stream, redis_client

logger = logging.getLogger(__name__)

GROUP = "marketdata"


def ensure_group(client: redis.Redis, stream: str) -> None:
    try:
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def run_engine_feed(
    *,
    shards: list[int] | None = None,
    consumer: str = "marketdata-1",
    block_ms: int = 1000,
    count: int = 500,
    stop: threading.Event | None = None,
    projector: EngineBookProjector | None = None,
) -> None:
    """Read every shard's events and project book/top into depth and quotes until ``stop``."""
    client = redis_client()
    shards = list(range(settings.ENGINE_SHARDS)) if shards is None else shards
    streams = [output_stream(shard) for shard in shards]
    for stream in streams:
        ensure_group(client, stream)
    projector = projector or EngineBookProjector(client)
    backlog = dict.fromkeys(streams, True)
    while stop is None or not stop.is_set():
        wanted = {s: "0" if backlog[s] else ">" for s in streams}
        reply = client.xreadgroup(
            GROUP,
            consumer,
            wanted,
            count=count,
            block=None if any(backlog.values()) else block_ms,
        )
        got = {(name.decode() if isinstance(name, bytes) else name): e for name, e in reply or []}
        for stream in streams:
            entries = got.get(stream, [])
            if backlog[stream] and not entries:
                backlog[stream] = False
                continue
            if not entries:
                continue
            events = [e for _entry_id, fields in entries for e in decode_output_entry(fields)]
            try:
                projector.apply(events)
            except Exception:
                logger.exception("market data: projecting %s events failed", len(events))
            client.xack(stream, GROUP, *[entry_id for entry_id, _ in entries])
