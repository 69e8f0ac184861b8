"""Redis as transport and cache: Channels layer, Celery broker, cache, the engine's streams."""

from .env import env_str

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "brokerage"),
    }
}

MARKETDATA_CHANNEL_LAYER = "marketdata"


def channel_layers(*, redis_url: str, prefix: str) -> dict:
    """The two channel layers, both channels_redis pub/sub on ``redis_url`` under ``prefix``
    (tests and benchmarks build theirs with a private prefix through this function).

    ``default``: per-account order updates (the trading stream, the broker's trade events, the
    web desk) and anything addressed to one socket. ``marketdata``: quotes, depth, trades and
    bars, joined once per server process by the fan-out hub (docs/marketdata.md).

    Pub/sub, not the core layer: a group_send is one PUBLISH and a server reads whatever has
    arrived in one socket read, where the core layer pays four Redis round trips to send a
    message to a group (expire, members, expire per member, the queueing script) and four more
    to receive it (restore the backup, the blocking pop, back it up, clear the backup). An order
    update went through eight round trips between the applier's commit and the socket; under
    fan-out load the receiving round trips kept market data queued in Redis for seconds.
    Pub/sub keeps nothing for a server that is away: an update published while a server's
    subscription is down is lost, as one sent to a socket that is down always was. Order updates
    are notifications of committed records, which the REST API serves (a client that reconnects
    reads its orders); market data is ephemeral and depth recovers by sequence and snapshot.
    """
    hosts = [{"address": redis_url}]
    return {
        name: {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": hosts, "prefix": layer_prefix},
        }
        for name, layer_prefix in (
            ("default", prefix),
            (MARKETDATA_CHANNEL_LAYER, f"{prefix}:md:"),
        )
    }


CHANNEL_LAYERS = channel_layers(redis_url=REDIS_URL, prefix=env_str("CHANNEL_LAYER_PREFIX", "asgi"))

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = False

# Every stream and key the engine uses starts with this prefix, so test runs never touch the
# streams of a running demo on the same Redis.
ENGINE_STREAM_PREFIX = env_str("ENGINE_STREAM_PREFIX", "engine")

# Static schedule; django-celery-beat copies it into its tables, where operations can tune it.
CELERY_BEAT_SCHEDULE = {
    "resend-stale-pending-orders": {
        "task": "apps.orders.tasks.resend_stale_pending_orders",
        "schedule": 5.0,
    },
    "settle-due-executions": {
        "task": "apps.settlement.tasks.settle_due_executions",
        "schedule": 300.0,
    },
}
