"""The project's PostgreSQL backend: a persistent connection is judged by its socket, without a
round trip, and one the server has dropped is replaced before a request uses it."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from brokerage.postgresql.base import DatabaseWrapper
from tests.processes import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_connection():
    other = DatabaseWrapper({**connection.settings_dict}, alias=DEFAULT_DB_ALIAS)
    other.ensure_connection()
    yield other
    other.close()


def _terminate(backend_pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])


def test_the_backend_is_the_one_in_use():
    assert isinstance(connections[DEFAULT_DB_ALIAS], DatabaseWrapper)


def _last_statement_of(backend_pid: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # read the live activity table
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [backend_pid])
        return cursor.fetchone()[0]


def test_a_quiet_connection_is_usable_without_a_query(second_connection):
    with second_connection.cursor() as cursor:
        cursor.execute("SELECT 'the last statement'")
    pid = second_connection.connection.info.backend_pid

    assert second_connection.is_usable()
    assert _last_statement_of(pid) == "SELECT 'the last statement'"


def test_a_connection_the_server_dropped_is_replaced_at_the_health_check(second_connection):
    dropped_pid = second_connection.connection.info.backend_pid
    _terminate(dropped_pid)
    wait_until(lambda: not second_connection.is_usable(), 5, "the dropped connection to show")

    # What Django does at a request's first query: check once, reconnect if unusable.
    second_connection.health_check_enabled = True
    second_connection.health_check_done = False
    with second_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != dropped_pid
