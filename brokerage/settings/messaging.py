"""Redis as transport and cache: Channels layer, Celery broker, cache, the engine's streams."""

from .env import env_int, env_str

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "brokerage"),
    }
}

MARKETDATA_CHANNEL_LAYER = "marketdata"


def channel_layers(*, redis_url: str, prefix: str, capacity: int = 1000) -> dict:
    """The two channel layers, both on ``redis_url`` under ``prefix`` (tests and benchmarks
    build theirs with a private prefix through this function).

    ``default`` (channels_redis core): per-consumer channels with a bounded queue each; order
    updates and everything addressed to one socket.

    ``marketdata`` (channels_redis pub/sub): quotes, depth, trades and bars, joined once per
    server process by the fan-out hub (docs/marketdata.md). A group_send is one PUBLISH and a
    server reads whatever has arrived in one socket read, where the core layer pays four Redis
    round trips per message received: under fan-out load those round trips wait behind the
    socket writes and market data queued in Redis for seconds, out of reach of conflation.
    Pub/sub keeps no queue for a server that is away: market data is ephemeral and depth
    recovers by sequence number and snapshot.
    """
    # redis-py 8 times socket reads out after 5 s, exactly channels_redis's BZPOPMIN block:
    # an idle consumer's receive would fail with TimeoutError. Reads may block longer than
    # the pop itself.
    hosts = [{"address": redis_url, "socket_timeout": 30}]
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": hosts, "prefix": prefix, "capacity": capacity},
        },
        MARKETDATA_CHANNEL_LAYER: {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": hosts, "prefix": f"{prefix}:md:"},
        },
    }


CHANNEL_LAYERS = channel_layers(
    redis_url=REDIS_URL,
    prefix=env_str("CHANNEL_LAYER_PREFIX", "asgi"),
    capacity=env_int("CHANNEL_LAYER_CAPACITY", 1000),
)

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
