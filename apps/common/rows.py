"""One-row statements for the order path, written once per model from the model's own fields.

Every order entered runs the same few statements: lock the account's cash row, insert the order
and its audit event, hold the reservation. The ORM builds each of them afresh per call, and
building cost several times running them (a quarter of the request's CPU). These helpers write
the SQL the ORM would write, from the model's concrete fields, once per process: a field added
to a model is read and written here too. Values go to the database as ``save()`` sends them and
rows come back as the ORM loads them (the fields' converters, then ``Model.from_db``, or the
instance's dict filled as its ``__init__`` would fill it), so an instance from here is
indistinguishable from one the ORM made. No signals are sent: use these
only for models without ``pre_save``/``post_save`` receivers (no ``simple_history``).

They run through Django's cursor, so query budgets in tests count them; ``apps.common.bulk``
holds the many-row counterparts (binary, outside Django's cursor wrapper) for the applier, and
loads its rows with the same ``RowLayout``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import signals
from django.db.models.base import ModelState

M = TypeVar("M", bound=models.Model)

# Fields whose Python values psycopg adapts exactly as the field's get_db_prep_save would (the
# ORM's per-value preparation is most of the cost of a write); others go through it.
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


class RowLayout:
    """A model's concrete fields in column order, with what turns database values into
    attribute values, for statements that select them."""

    def __init__(self, model: type[models.Model]) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self.pk_index = self.fields.index(model._meta.pk)
        self.converters = [
            (i, field, converters)
            for i, field in enumerate(self.fields)
            if (converters := field.get_db_converters(connection))
        ]
        # ``Model.__init__`` sets each column through ``setattr`` and sends pre_init and
        # post_init: for a model that overrides neither it nor has receivers of them, filling
        # the instance's dict is the same instance, at a tenth of the cost (the applier loads
        # thousands of orders a batch, and their __init__ was a tenth of its CPU).
        self.fills_dict = (
            model.__init__ is models.Model.__init__
            and not signals.pre_init.has_listeners(model)
            and not signals.post_init.has_listeners(model)
        )

    def columns(self, alias: str | None = None) -> list[str]:
        prefix = f"{alias}." if alias else ""
        return [f'{prefix}"{field.column}"' for field in self.fields]

    def load(self, values: Sequence[Any]) -> models.Model | None:
        """The instance the ORM would load from ``values`` (this layout's columns, in order);
        None when the primary key is NULL (no row behind an outer join)."""
        if values[self.pk_index] is None:
            return None
        connection = connections[DEFAULT_DB_ALIAS]
        values = list(values)
        for i, field, converters in self.converters:
            for convert in converters:
                values[i] = convert(values[i], field, connection)
        if not self.fills_dict:
            return self.model.from_db(connection.alias, self.attnames, values)
        instance = self.model.__new__(self.model)
        instance.__dict__.update(zip(self.attnames, values, strict=True))
        state = instance._state = ModelState()  # as from_db leaves it
        state.adding = False
        state.db = connection.alias
        return instance


@cache
def row_layout(model: type[models.Model]) -> RowLayout:
    return RowLayout(model)


@cache
def _select_statement(model: type[models.Model], where: str, lock: bool) -> str:
    layout = row_layout(model)
    table = f'"{model._meta.db_table}"'
    # Identifiers from the model's metadata and a condition written by the caller in code.
    statement = f"SELECT {', '.join(layout.columns('t'))} FROM {table} t WHERE {where}"  # noqa: S608
    return statement + (" FOR UPDATE" if lock else "")


def select_one(
    model: type[M], where: str, params: Sequence[Any], *, lock: bool = False
) -> M | None:
    """The row of ``model`` matching ``where`` (SQL over alias ``t``, ``%s`` placeholders), as
    ``model.objects.get`` would return it (``select_for_update()`` when ``lock``); None if none.
    ``where`` must match at most one row."""
    return select_one_sent(model, where, params, lock=lock)()


def select_one_sent(
    model: type[M], where: str, params: Sequence[Any], *, lock: bool = False
) -> Callable[[], M | None]:
    """``select_one``'s statement, sent now; calling the result reads its row. Inside
    ``pipeline()`` the statements sent before that call are answered in the same round trip."""
    read = execute_sent(_select_statement(model, where, lock), params)

    def row() -> M | None:
        rows = read()
        return row_layout(model).load(rows[0]) if rows else None

    return row


def execute_sent(statement: str, params: Any) -> Callable[[], list[tuple]]:
    """``statement`` sent now; calling the result reads its rows (see ``select_one_sent``)."""
    cursor = connections[DEFAULT_DB_ALIAS].cursor()
    cursor.execute(statement, params)

    def rows() -> list[tuple]:
        with cursor:
            return cursor.fetchall()

    return rows


@contextmanager
def pipeline() -> Iterator[None]:
    """Statements run inside go to PostgreSQL without waiting for each one's answer (psycopg's
    pipeline mode): reading a row waits for its statement and brings the answers of those sent
    before it, and the block's end waits for the rest. Statements still run one after another,
    each seeing what was committed when it started (a read sent after a row lock sees what the
    lock's previous holder committed), so a transaction costs a round trip per read that decides
    what comes next, not one per statement. Use inside ``atomic()``: a transaction's BEGIN and
    COMMIT wait for their answers either way. A failing statement fails those sent after it; the
    error is raised by the next read or the block's end, as Django's database error."""
    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


# (model, alias, join clause with ``{table}`` for the model's table; empty for the first)
Joined = tuple[tuple[type[models.Model], str, str], ...]


@cache
def joined_statement(tables: Joined, where: str) -> str:
    """``SELECT`` every column of ``tables`` joined, ``WHERE where``; written once per tables
    and condition (``bulk.fetch_joined`` sends it for many rows)."""
    columns, joins = [], []
    for model, alias, join in tables:
        columns += row_layout(model).columns(alias)
        if join:
            joins.append(join.format(table=f'"{model._meta.db_table}"'))
    first, alias, _ = tables[0]
    # Identifiers from the models' metadata, joins and condition written by the caller in code.
    return (
        f'SELECT {", ".join(columns)} FROM "{first._meta.db_table}" {alias} '  # noqa: S608
        f"{' '.join(joins)} WHERE {where}"
    )


def load_joined(tables: Joined, row: Sequence[Any]) -> list[models.Model | None]:
    """One instance per table from a row of ``joined_statement`` (None for a table an outer
    join found no row in)."""
    loaded: list[models.Model | None] = []
    start = 0
    for model, _, _ in tables:
        layout = row_layout(model)
        loaded.append(layout.load(row[start : start + len(layout.fields)]))
        start += len(layout.fields)
    return loaded


def select_joined(
    tables: Joined, where: str, params: Sequence[Any]
) -> list[models.Model | None] | None:
    """The row of several tables joined as ``select_related`` would join them, one instance per
    table as the ORM loads it (None for a table an outer join found no row in), or None when no
    row matches. ``where`` (SQL over the tables' aliases) must match at most one row. The
    statement is written once per tables and condition: building the ORM's join cost several
    times running it."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(joined_statement(tables, where), params)
        row = cursor.fetchone()
    return None if row is None else load_joined(tables, row)


def _db_value(field: models.Field, obj: models.Model, add: bool, connection) -> Any:
    value = field.pre_save(obj, add)  # auto_now and auto_now_add set the instance here
    if isinstance(field, NATIVE_FIELDS):
        return value
    return field.get_db_prep_save(value, connection)


def _plain(fields: list[models.Field]) -> list[str | None]:
    """Per field, the attribute to read as it is (a native field that does nothing before a
    save), or None where ``_db_value`` must run: a row has dozens of fields, and only its
    dates (``auto_now``) and non-native fields need more than the attribute."""
    return [
        field.attname
        if isinstance(field, NATIVE_FIELDS) and type(field).pre_save is models.Field.pre_save
        else None
        for field in fields
    ]


def _values(
    fields: list[models.Field], plain: list[str | None], obj: models.Model, add: bool, connection
) -> list[Any]:
    return [
        getattr(obj, attname) if attname else _db_value(field, obj, add, connection)
        for field, attname in zip(fields, plain, strict=True)
    ]


@cache
def _insert_statement(
    model: type[models.Model],
) -> tuple[str, list[models.Field], list[str | None], bool]:
    meta = model._meta
    # An auto-incremented primary key is left to the database and read back.
    generated = isinstance(meta.pk, models.AutoField)
    fields = [f for f in meta.concrete_fields if not (generated and f is meta.pk)]
    columns = ", ".join(f'"{field.column}"' for field in fields)
    values = ", ".join(["%s"] * len(fields))
    statement = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({values})'  # noqa: S608
    if generated:
        statement += f' RETURNING "{meta.pk.column}"'
    return statement, fields, _plain(fields), generated


def insert_one(obj: models.Model) -> None:
    """INSERT a new instance as ``obj.save()`` would (defaults already set by the constructor,
    ``auto_now_add`` and ``auto_now`` filled in, an auto primary key read back)."""
    connection = connections[DEFAULT_DB_ALIAS]
    statement, fields, plain, generated = _insert_statement(type(obj))
    params = _values(fields, plain, obj, True, connection)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        if generated:
            obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = connection.alias


@cache
def _update_statement(
    model: type[models.Model], names: tuple[str, ...]
) -> tuple[str, list[models.Field], list[str | None]]:
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    assignments = ", ".join(f'"{field.column}" = %s' for field in fields)
    where = f'"{meta.pk.column}" = %s'
    statement = f'UPDATE "{meta.db_table}" SET {assignments} WHERE {where}'  # noqa: S608
    return statement, fields, _plain(fields)


def update_one(obj: models.Model, fields: Sequence[str]) -> None:
    """UPDATE ``fields`` of a saved instance to their in-memory values, as
    ``obj.save(update_fields=fields)`` would (an ``auto_now`` field among them gets the time)."""
    connection = connections[DEFAULT_DB_ALIAS]
    statement, columns, plain = _update_statement(type(obj), tuple(fields))
    params = _values(columns, plain, obj, False, connection)
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, obj.pk])
