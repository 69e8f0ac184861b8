"""The matcher's safety rules, in process against real Redis: only the lease holder publishes,
a paused matcher never publishes again once another one led in between, and a command the
engine raises on cannot stop the shard."""

import pytest

from apps.matching.engine import Engine, NewOrder
from apps.matching.matcher import LeaseLost, Matcher, MatcherOptions, apply_batch, bare_spec
from apps.matching.transport import iter_all_events, publish_commands, redis_client, shard_key


def leader() -> Matcher:
    matcher = Matcher(MatcherOptions(shard=0, symbols=["LSE"], session="continuous"))
    matcher._ensure_group()
    matcher._load_state()
    while not matcher.leader:
        matcher._follow_once()
    matcher._take_over()
    return matcher


def publish_one(matcher: Matcher, oid: str) -> None:
    """One command through the stream and the matcher's own publish step."""
    command = NewOrder(ts_ns=1, symbol="LSE", order_id=oid, side="buy", qty=1, price=9)
    publish_commands(0, [command])
    entries = matcher.raw.xrange(matcher.k_in, min=b"(" + matcher.pos)
    first = matcher.engine.seq + 1
    events = matcher.engine.process_many([command])
    matcher.pos = entries[-1][0]
    matcher._write(events=events, first_seq=first, ids=[matcher.pos], snapshot=False)


def test_a_paused_primary_cannot_publish_after_another_matcher_led(stream_prefix):
    r = redis_client()
    first = leader()
    publish_one(first, "a")
    r.delete(shard_key(0, "lease"))  # first pauses; its lease expires

    second = leader()
    assert second.engine.seq == first.engine.seq  # replayed from snapshot + input
    publish_one(second, "b")
    r.delete(shard_key(0, "lease"))  # second dies too; nobody holds the lease

    with pytest.raises(LeaseLost):
        publish_one(first, "c")  # first wakes up: progress moved on without it
    with pytest.raises(LeaseLost):
        first._renew_lease()
    assert [e[4] for e in iter_all_events(0) if e[0] == "accepted"] == ["a", "b"]


def test_a_paused_primary_takes_its_lease_back_when_nobody_else_led(stream_prefix):
    r = redis_client()
    matcher = leader()
    publish_one(matcher, "a")
    r.delete(shard_key(0, "lease"))
    matcher._renew_lease()
    assert r.get(shard_key(0, "lease")) == matcher.token.encode()
    publish_one(matcher, "b")
    assert [e[4] for e in iter_all_events(0) if e[0] == "accepted"] == ["a", "b"]


def test_a_command_the_engine_raises_on_is_skipped_without_a_seq_gap():
    good = [
        NewOrder(ts_ns=1, symbol="LSE", order_id="s", side="sell", qty=5, price=10),
        NewOrder(ts_ns=3, symbol="LSE", order_id="b", side="buy", qty=5, price=10),
    ]
    poison = ("new", 2, ["LSE"], "p", None, "buy", "limit", "gtc", 5, 10, None, 0, False,
              False, None, None)  # fmt: skip
    reference = Engine()
    reference.register(bare_spec("LSE"))
    engine = Engine()
    engine.register(bare_spec("LSE"))
    assert apply_batch(engine, [good[0], poison, good[1]]) == reference.process_many(good)
    assert engine.seq == reference.seq
