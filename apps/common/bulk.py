"""Set-based writes for hot paths: many rows in one statement instead of a round trip per row.

The applier commits thousands of rows per batch; the ORM's per-object ``save()`` and
``bulk_update`` (a CASE per field per row) would spend its time building SQL. These helpers send
one array per column (``unnest``) or stream rows with ``COPY``, which PostgreSQL parses once.
Values are stored as ``save()`` would store them: those psycopg adapts natively pass as they are,
the others go through the field's ``get_db_prep_save``. Call them inside the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils import timezone
from psycopg import sql

# Fields whose Python values psycopg adapts exactly as the field's get_db_prep_save would (the
# ORM's per-value preparation is most of the cost of a bulk write); others go through it.
NATIVE_FIELDS = (
    models.CharField,
    models.TextField,
    models.DecimalField,
    models.IntegerField,  # and its small, big and positive kinds
    models.BooleanField,
    models.UUIDField,
    models.DateField,  # and DateTimeField
    models.ForeignKey,
)


def _column_type(field: models.Field, connection) -> str:
    return field.rel_db_type(connection) if field.is_relation else field.db_type(connection)


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
        return [getattr(obj, attname) for obj in objs]
    return [field.get_db_prep_save(field.pre_save(obj, False), connection) for obj in objs]


def update_rows(
    model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]
) -> int:
    """``UPDATE`` ``fields`` of every object in ``objs`` to its in-memory value, in one statement
    joined on the primary key. ``auto_now`` fields in ``fields`` get the current time."""
    if not objs:
        return 0
    connection = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    assignments = sql.SQL(", ").join(
        sql.SQL("{col} = v.{col}").format(col=sql.Identifier(field.column)) for field in columns
    )
    arrays = sql.SQL(", ").join(
        sql.SQL("%s::{}[]").format(sql.SQL(_column_type(field, connection)))
        for field in [pk, *columns]
    )
    names = sql.SQL(", ").join(sql.Identifier(field.column) for field in [pk, *columns])
    statement = sql.SQL(
        "UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) AS v({names}) "
        "WHERE t.{pk} = v.{pk}"
    ).format(
        table=sql.Identifier(meta.db_table),
        assignments=assignments,
        arrays=arrays,
        names=names,
        pk=sql.Identifier(pk.column),
    )
    params = [[obj.pk for obj in objs]]
    params += [_prepared(field, objs, connection) for field in columns]
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(cursor.cursor), params)
        return cursor.rowcount


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """``COPY`` rows of database-ready values (in ``columns`` order) into ``table``."""
    statement = sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
        table=sql.Identifier(table),
        columns=sql.SQL(", ").join(sql.Identifier(column) for column in columns),
    )
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
