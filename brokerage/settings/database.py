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
# Django's backend, with a health check that reads the socket instead of a round trip per request
# (brokerage/postgresql/base.py).
DATABASES["default"]["ENGINE"] = "brokerage.postgresql"


def connection_options(prepare_threshold: int) -> dict[str, object]:
    """psycopg options: bind on the server; prepare on the ``prepare_threshold``-th use of a
    statement, never when it is negative (psycopg's None)."""
    return {
        "server_side_binding": True,
        "prepare_threshold": None if prepare_threshold < 0 else prepare_threshold,
    }


# Parameters travel apart from the SQL (server-side binding), so a statement a connection runs
# again and again is planned once: psycopg prepares it on its DATABASE_PREPARE_THRESHOLD-th use.
# The order path's statements (the API key lookup, the risk snapshot, the order insert) spent
# more time in the planner than in execution. Behind a transaction-mode pooler that cannot keep
# prepared statements, set DATABASE_PREPARE_THRESHOLD=-1 to turn preparation off.
DATABASES["default"]["OPTIONS"] = connection_options(env_int("DATABASE_PREPARE_THRESHOLD", 5))
DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME", "test_brokerage")}
