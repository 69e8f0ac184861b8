"""The engine's Redis streams: names, the client, publishing commands and reading events.

One input stream and one output stream per shard, both under ``settings.ENGINE_STREAM_PREFIX``
so that a test run or a benchmark (its own prefix) never touches the streams of a running demo.

Wire format (documented in docs/engine.md, "The matcher process"):

- ``<prefix>:in:{<shard>}``: one entry per command, field ``c`` = msgpack array (the command
  tuple, ``apps.matching.engine.to_wire``).
- ``<prefix>:out:{<shard>}``: one entry per input batch the matcher processed that produced
  events: ``e`` = msgpack array of event arrays, ``first_seq`` / ``last_seq`` (decimal ints),
  ``in_id`` (the last input stream id of the batch).

Every key of a shard ends in the hash tag ``{<shard>}``: on a Redis Cluster they all live in
one slot, which the matcher's atomic publish (one Lua script over the input stream, the output
stream and the progress hash) needs, while different shards spread over the cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgpack
import redis
from django.conf import settings

from apps.matching.engine import event_from_wire, to_wire

# Field names of stream entries (bytes: the client does not decode responses).
COMMAND_FIELD = b"c"
EVENTS_FIELD = b"e"
FIRST_SEQ_FIELD = b"first_seq"
LAST_SEQ_FIELD = b"last_seq"
IN_ID_FIELD = b"in_id"

_clients: dict[str, redis.Redis] = {}


def prefix() -> str:
    return settings.ENGINE_STREAM_PREFIX


def input_stream(shard: int) -> str:
    """Commands for the matcher of ``shard``."""
    return shard_key(shard, "in")


def output_stream(shard: int) -> str:
    """Events of the matcher of ``shard``, one entry per processed batch."""
    return shard_key(shard, "out")


def shard_key(shard: int, name: str) -> str:
    """A key of ``shard`` (streams, snapshot, progress, lease, metrics), hash-tagged by shard."""
    return f"{settings.ENGINE_STREAM_PREFIX}:{name}:{{{shard}}}"


def redis_client() -> redis.Redis:
    """One client (connection pool) per process and URL; bytes in, bytes out (msgpack)."""
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, decode_responses=False)
    return client


def pack(item: Any) -> bytes:
    return msgpack.packb(item, use_bin_type=True)


def unpack(data: bytes) -> Any:
    # Arrays come back as lists (cheaper than tuples); the records accept either.
    return msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=False)


def encode_command(command: tuple) -> dict[bytes, bytes]:
    """The fields of one input stream entry."""
    return {COMMAND_FIELD: pack(to_wire(command))}


def publish_commands(
    shard: int, commands: list[tuple], *, client: redis.Redis | None = None
) -> None:
    """XADD every command to the shard's input stream in one round trip, in order.

    Callers that write the database first call this from ``transaction.on_commit``: the
    matcher must never see an order the database does not have (a rebuild relies on it).
    """
    if not commands:
        return
    r = client or redis_client()
    stream = input_stream(shard)
    pipe = r.pipeline(transaction=False)
    for command in commands:
        pipe.xadd(stream, {COMMAND_FIELD: pack(to_wire(command))})
    pipe.execute()


def decode_output_entry(fields: dict[bytes, bytes]) -> list[tuple]:
    """The event records of one output stream entry, in sequence order."""
    return [event_from_wire(e) for e in unpack(fields[EVENTS_FIELD])]


def output_entry_seqs(fields: dict[bytes, bytes]) -> tuple[int, int]:
    """(first_seq, last_seq) of one output stream entry."""
    return int(fields[FIRST_SEQ_FIELD]), int(fields[LAST_SEQ_FIELD])


def read_events(
    shard: int,
    *,
    after_id: str | bytes = "0-0",
    count: int = 1000,
    block_ms: int | None = None,
    client: redis.Redis | None = None,
) -> tuple[bytes | str, list[tuple]]:
    """Events published after stream id ``after_id``: (last id read, events in seq order).

    A plain XREAD by id, for tools and tests; a durable consumer (the applier) should use its
    own consumer group on ``output_stream(shard)`` and ``decode_output_entry``.
    """
    r = client or redis_client()
    reply = r.xread({output_stream(shard): after_id}, count=count, block=block_ms)
    last_id: bytes | str = after_id
    events: list[tuple] = []
    for _stream, entries in reply or []:
        for entry_id, fields in entries:
            events.extend(decode_output_entry(fields))
            last_id = entry_id
    return last_id, events


def iter_all_events(shard: int, *, client: redis.Redis | None = None) -> Iterator[tuple]:
    """Every event still on the output stream, oldest first (tests and tools)."""
    r = client or redis_client()
    last = "-"
    while True:
        entries = r.xrange(output_stream(shard), min=last, count=1000)
        if last != "-" and entries:
            entries = entries[1:]
        if not entries:
            return
        for _entry_id, fields in entries:
            yield from decode_output_entry(fields)
        last = entries[-1][0]


def delete_prefix_keys(keys_prefix: str, *, client: redis.Redis | None = None) -> int:
    """Delete every key under ``keys_prefix:`` (test and benchmark clean-up)."""
    r = client or redis_client()
    names: Iterable[bytes] = list(r.scan_iter(match=f"{keys_prefix}:*", count=1000))
    deleted = 0
    for name in names:
        deleted += r.delete(name)
    return deleted


def trim_output_stream(shard: int, *, client: redis.Redis | None = None) -> int:
    """Drop output entries every consumer group has read and acknowledged (the applier, market
    data): the oldest entry still pending anywhere, or the oldest not yet delivered to the
    slowest group, is kept with everything after it. Returns the number of entries removed.

    Without consumer groups nothing is trimmed: the stream is then the only record of events a
    consumer has not seen yet. The newest entry is always kept.
    """
    r = client or redis_client()
    stream = output_stream(shard)
    try:
        groups = r.xinfo_groups(stream)
    except redis.ResponseError:
        return 0
    if not groups:
        return 0
    keep_from: list[tuple[int, int]] = []
    for group in groups:
        # A group's consumer may acknowledge between XINFO and XPENDING: then none is pending.
        oldest = r.xpending(stream, group["name"])["min"] if group["pending"] else None
        if oldest is not None:
            keep_from.append(_stream_id(oldest))
        else:  # everything delivered to it (as of XINFO; later deliveries come after) is done
            ms, seq = _stream_id(group["last-delivered-id"])
            keep_from.append((ms, seq + 1))
    # The newest entry always stays: a matcher restarting without a snapshot reads its sequence.
    newest = r.xrevrange(stream, count=1)
    if newest:
        keep_from.append(_stream_id(newest[0][0]))
    ms, seq = min(keep_from)
    return int(r.xtrim(stream, minid=f"{ms}-{seq}", approximate=False))


def _stream_id(value: bytes | str) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else value
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)
