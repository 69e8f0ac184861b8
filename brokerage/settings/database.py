"""PostgreSQL, the record of everything durable."""

import dj_database_url

from .env import env_int, env_str

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/brokerage"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME", "test_brokerage")}
