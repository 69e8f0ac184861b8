from apps.matching.metrics import MatcherMetrics, metrics_snapshot


def test_metrics_are_written_per_shard_and_read_back_as_numbers(stream_prefix):
    metrics = MatcherMetrics(3, interval_s=1.0)
    now_ns = 1_800_000_000_000_000_000
    commands = [("new", now_ns - 400_000), ("cancel", now_ns - 2_000_000), ("new", 5)]
    first_id = f"{now_ns // 1_000_000 - 7}-0".encode()
    metrics.batch(commands=commands, events=9, first_id=first_id, done_ns=now_ns)
    metrics.batch(commands=commands[:1], events=2, first_id=first_id, done_ns=now_ns)
    row = metrics.flush(metrics.started + 2.0, seq=11, in_id=b"1-0", role="primary")

    read = metrics_snapshot(3)
    assert read["events_per_s"] == 5.5  # 11 events over 2 s
    assert read["commands_per_s"] == 2.0
    assert read["max_batch"] == 3 and read["avg_batch"] == 2.0
    assert read["input_lag_ms"] == 7
    # 400 us twice and 2 ms once; the ancient ts (a replay) is left out.
    assert read["latency_p50_us"] == 500 and read["latency_p99_us"] == 2000
    assert read["seq"] == 11 and read["role"] == "primary"
    assert row["total_events"] == 11
    assert metrics_snapshot(4) == {}
