"""Reads about the platform itself."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection


def dependency_status() -> dict[str, str]:
    """Ask PostgreSQL and Redis for a trivial answer; report 'ok' or the error per dependency."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["postgres"] = "ok"
    except Exception as exc:  # any failure means not ready; the reason is reported
        checks["postgres"] = f"error: {exc.__class__.__name__}"
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
        client.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {exc.__class__.__name__}"
    return checks
