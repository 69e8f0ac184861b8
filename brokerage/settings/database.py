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


def connection_options(prepare_threshold: int, statement_timeout_ms: int = 0) -> dict[str, object]:
    """psycopg options: bind on the server; prepare on the ``prepare_threshold``-th use of a
    statement, never when it is negative (psycopg's None); with ``statement_timeout_ms``, a
    statement running longer is cancelled by PostgreSQL."""
    options: dict[str, object] = {
        "server_side_binding": True,
        "prepare_threshold": None if prepare_threshold < 0 else prepare_threshold,
    }
    if statement_timeout_ms > 0:
        options["options"] = f"-c statement_timeout={statement_timeout_ms}"
    return options


# Parameters travel apart from the SQL (server-side binding), so a statement a connection runs
# again and again is planned once: psycopg prepares it on its DATABASE_PREPARE_THRESHOLD-th use.
# The order path's statements (the API key lookup, the risk snapshot, the order insert) spent
# more time in the planner than in execution. Behind a transaction-mode pooler that cannot keep
# prepared statements, set DATABASE_PREPARE_THRESHOLD=-1 to turn preparation off.
# The web server sets DATABASE_STATEMENT_TIMEOUT_MS (gunicorn.conf.py): a request waiting on a
# lock or a runaway query gives its thread back with a 503 instead of holding it; the applier,
# the matcher and the Celery jobs run without one.
DATABASES["default"]["OPTIONS"] = connection_options(
    env_int("DATABASE_PREPARE_THRESHOLD", 5), env_int("DATABASE_STATEMENT_TIMEOUT_MS", 0)
)
DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME", "test_brokerage")}
