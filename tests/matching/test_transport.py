"""Stream names, and the output stream trimmed to what every consumer group has acknowledged."""

import redis
from redis.crc import key_slot

from apps.matching.transport import (
    input_stream,
    output_stream,
    redis_client,
    shard_key,
    trim_output_stream,
)


def test_a_shards_keys_share_one_cluster_slot_and_shards_spread(stream_prefix):
    def slots(shard: int) -> set[int]:
        names = [input_stream(shard), output_stream(shard), shard_key(shard, "progress")]
        return {key_slot(name.encode()) for name in names}

    assert len(slots(3)) == 1  # the matcher's publish script touches all three atomically
    assert len(slots(0) | slots(1) | slots(2) | slots(3)) == 4


def _entries(stream: str) -> list[bytes]:
    return [entry_id for entry_id, _ in redis_client().xrange(stream)]


def _applier_and_market_data(entries: int, applier_acknowledged: int) -> list[bytes]:
    """The output stream with ``entries`` entries and both consumer groups, the applier having
    read and acknowledged the first ``applier_acknowledged``; the entries' ids."""
    r = redis_client()
    stream = output_stream(0)
    ids = [r.xadd(stream, {b"e": b"x"}) for _ in range(entries)]
    r.xgroup_create(stream, "applier", id="0")
    r.xgroup_create(stream, "marketdata", id="0")
    read = r.xreadgroup("applier", "a", {stream: ">"}, count=applier_acknowledged)[0][1]
    r.xack(stream, "applier", *[entry_id for entry_id, _ in read])
    return ids


def test_trim_keeps_what_the_slowest_group_has_not_acknowledged(stream_prefix):
    r, stream = redis_client(), output_stream(0)
    ids = _applier_and_market_data(6, applier_acknowledged=4)
    # Market data read three entries and acknowledged two.
    read = r.xreadgroup("marketdata", "m", {stream: ">"}, count=3)[0][1]
    r.xack(stream, "marketdata", *[entry_id for entry_id, _ in read[:2]])

    removed = trim_output_stream(0)

    assert removed == 2
    assert _entries(stream) == ids[2:]  # the third entry is still pending for market data


def test_without_consumer_groups_nothing_is_trimmed(stream_prefix):
    r = redis_client()
    stream = output_stream(0)
    for _ in range(3):
        r.xadd(stream, {b"e": b"x"})

    assert trim_output_stream(0) == 0
    assert len(_entries(stream)) == 3


def test_the_newest_entry_survives_even_when_everyone_has_read_it(stream_prefix):
    r = redis_client()
    stream = output_stream(0)
    ids = [r.xadd(stream, {b"e": b"x"}) for _ in range(3)]
    r.xgroup_create(stream, "applier", id="0")
    read = r.xreadgroup("applier", "a", {stream: ">"})[0][1]
    r.xack(stream, "applier", *[entry_id for entry_id, _ in read])

    assert trim_output_stream(0) == 2
    assert _entries(stream) == ids[-1:]


class AcknowledgingAfterInfo(redis.Redis):
    """A Redis client during whose XINFO GROUPS market data acknowledges what it had pending, as
    the market data process may between the applier's XINFO and XPENDING."""

    def xinfo_groups(self, name):
        groups = super().xinfo_groups(name)
        pending = self.xpending_range(name, "marketdata", min="-", max="+", count=100)
        self.xack(name, "marketdata", *[entry["message_id"] for entry in pending])
        return groups


def test_a_group_that_acknowledges_during_the_trim_is_trimmed_to_what_it_read(stream_prefix):
    r, stream = redis_client(), output_stream(0)
    ids = _applier_and_market_data(5, applier_acknowledged=5)
    r.xreadgroup("marketdata", "m", {stream: ">"}, count=3)  # three read, none acknowledged yet

    removed = trim_output_stream(
        0, client=AcknowledgingAfterInfo(connection_pool=r.connection_pool)
    )

    assert removed == 3
    assert _entries(stream) == ids[3:]
