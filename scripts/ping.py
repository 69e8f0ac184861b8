"""Exit 0 when the named service answers (used by scripts/services.sh before Django is set up)."""

import os
import sys

import psycopg
import redis


def main(service: str) -> int:
    if service == "postgres":
        url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        # The maintenance database always exists; the app database may not yet.
        base, _, _ = url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return 0
    if service == "redis":
        redis.Redis.from_url(
            os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), socket_timeout=2
        ).ping()
        return 0
    raise SystemExit(f"unknown service {service}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
