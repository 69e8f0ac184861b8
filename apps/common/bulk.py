"""Set-based reads and writes for hot paths: many rows in one statement instead of a round trip
per row.

The applier commits thousands of rows per batch; the ORM's per-object ``save()`` and
``bulk_update`` (a CASE per field per row) would spend its time building SQL. These helpers send
one array per column (``unnest``) or stream rows with ``COPY``, which PostgreSQL parses once.
Values are stored as ``save()`` would store them: those psycopg adapts natively pass as they are,
the others go through the field's ``get_db_prep_save``. Call them inside the caller's
transaction.

Arrays and the rows read back travel in PostgreSQL's binary format (``server_cursor``): in text
a 500-element array is written as escaped text by a Python loop, and every timestamp read is
parsed by a Python function; in binary both are psycopg's C code (about a third of the CPU time
for the applier's order update and order read). Django's cursor wrapper has no way to ask for
binary rows, and its per-statement bookkeeping is skipped too, so statements sent here are not
seen by query-capturing tools.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils import timezone
from psycopg import sql

from apps.common.rows import NATIVE_FIELDS, Joined, joined_statement, load_joined, row_layout

M = TypeVar("M", bound=models.Model)


@contextmanager
def server_cursor() -> Iterator[psycopg.Cursor]:
    """A psycopg cursor on Django's connection, in its transaction: ``%b`` sends a parameter in
    binary, ``execute(..., binary=True)`` reads binary rows.
    Errors surface as Django's database errors, as from ``connection.cursor()``."""
    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _column_type(field: models.Field, connection) -> str:
    return field.rel_db_type(connection) if field.is_relation else field.db_type(connection)


def _is_uuid(field: models.Field) -> bool:
    return isinstance(field.target_field if field.is_relation else field, models.UUIDField)


def _as_uuids(values: list) -> list:
    """A binary array takes one Python type per column: ids given as strings become UUIDs."""
    return [v if v is None or type(v) is uuid.UUID else uuid.UUID(str(v)) for v in values]


def _prepared(field: models.Field, objs: Sequence[models.Model], connection) -> list:
    """The column's values for ``objs``, as ``save()`` would write them (an ``auto_now`` field
    gets the same current time for every object, set on the objects too)."""
    if getattr(field, "auto_now", False):
        now = timezone.now()
        if type(field) is models.DateField:
            now = now.date()
        for obj in objs:
            setattr(obj, field.attname, now)
        return [now] * len(objs)
    if isinstance(field, NATIVE_FIELDS):
        attname = field.attname
        values = [getattr(obj, attname) for obj in objs]
        return _as_uuids(values) if _is_uuid(field) else values
    return [field.get_db_prep_save(field.pre_save(obj, False), connection) for obj in objs]


def update_rows(
    model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]
) -> None:
    """``UPDATE`` ``fields`` of every object in ``objs`` to its in-memory value, in one statement
    joined on the primary key. ``auto_now`` fields in ``fields`` get the current time. Nothing
    is read back, so inside ``rows.pipeline()`` the statement is answered with the others."""
    if not objs:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    params = [_prepared(field, objs, connection) for field in columns]
    with server_cursor() as cursor:
        cursor.execute(_update_statement(model, tuple(fields)), params)


@cache
def _update_statement(model: type[models.Model], fields: tuple[str, ...]) -> str:
    """The statement of ``update_rows``, composed once per model and fields (composing it cost
    more than running it for a small batch)."""
    connection = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    assignments = sql.SQL(", ").join(
        sql.SQL("{col} = v.{col}").format(col=sql.Identifier(field.column)) for field in columns
    )
    arrays = sql.SQL(", ").join(
        sql.SQL("%b::{}[]").format(sql.SQL(_column_type(field, connection)))
        for field in [pk, *columns]
    )
    names = sql.SQL(", ").join(sql.Identifier(field.column) for field in [pk, *columns])
    return (
        sql.SQL(
            "UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) AS v({names}) "
            "WHERE t.{pk} = v.{pk}"
        )
        .format(
            table=sql.Identifier(meta.db_table),
            assignments=assignments,
            arrays=arrays,
            names=names,
            pk=sql.Identifier(pk.column),
        )
        .as_string()
    )


def fetch_objects(model: type[M], where: str, params: Sequence[Any]) -> list[M]:
    """Model instances of ``SELECT <every column> FROM <table> <where>`` (``where`` may end in
    ``ORDER BY`` and ``FOR UPDATE``), read in binary: the ORM's read for many rows, without its
    text parsing, loaded as the ORM loads them (``rows.RowLayout``)."""
    return fetch_objects_sent(model, where, params)()


def fetch_objects_sent(model: type[M], where: str, params: Sequence[Any]) -> Callable[[], list[M]]:
    """``fetch_objects``' statement, sent now; calling the result reads the instances. Inside
    ``rows.pipeline()`` statements sent one after another are answered together."""
    layout = row_layout(model)
    read = _binary_rows_sent(_select_all(model) + where, params)
    return lambda: [layout.load(row) for row in read()]


def fetch_joined(tables: Joined, where: str, params: Sequence[Any]) -> list[list[Any]]:
    """``rows.select_joined`` for many rows, read in binary: per row, one instance per table
    (``where`` over the tables' aliases, ``%b`` for binary parameters)."""
    return fetch_joined_sent(tables, where, params)()


def fetch_joined_sent(
    tables: Joined, where: str, params: Sequence[Any]
) -> Callable[[], list[list[Any]]]:
    """``fetch_joined``'s statement, sent now; calling the result reads the rows."""
    read = _binary_rows_sent(joined_statement(tables, where), params)
    return lambda: [load_joined(tables, row) for row in read()]


def _binary_rows_sent(statement: str, params: Sequence[Any]) -> Callable[[], list[tuple]]:
    """``statement`` sent on a psycopg cursor of Django's connection, as ``server_cursor`` sends
    it, but kept open until its rows are read (``server_cursor`` closes at the block's end)."""
    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    with connection.wrap_database_errors:
        cursor.execute(statement, params, binary=True)

    def rows() -> list[tuple]:
        with connection.wrap_database_errors, cursor:
            return cursor.fetchall()

    return rows


@cache
def _select_all(model: type[models.Model]) -> str:
    columns = ", ".join(row_layout(model).columns())
    return f'SELECT {columns} FROM "{model._meta.db_table}" '  # noqa: S608 (model metadata)


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """``COPY`` rows of database-ready values (in ``columns`` order) into ``table``."""
    statement = sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
        table=sql.Identifier(table),
        columns=sql.SQL(", ").join(sql.Identifier(column) for column in columns),
    )
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
