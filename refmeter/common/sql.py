"""Hand-written SQL for the few hot paths where building a query through the ORM costs more
than running it (the anonymous scan page, opened by every phone that scans a label).

The statements name their tables and columns through the models' ``_meta``, so a renamed
table cannot silently break them, and run through Django's connection: they take part in
its transactions and in the query log that tests count.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def table(model: type[models.Model]) -> str:
    """The model's table name, quoted for the database in use."""
    return str(connection.ops.quote_name(model._meta.db_table))


def column(model: type[models.Model], field: str) -> str:
    """A field's column, quoted (``group`` → ``"group_id"``)."""
    concrete = model._meta.get_field(field)
    assert isinstance(concrete, models.Field), f"{model.__name__}.{field} has no column"
    return str(connection.ops.quote_name(concrete.column))


def columns(model: type[models.Model], alias: str) -> tuple[list[models.Field[Any, Any]], str]:
    """Every concrete field of the model and its columns as ``alias."col", …`` for a
    SELECT; :func:`instance` builds the model from those values."""
    fields = list(model._meta.concrete_fields)
    quote = connection.ops.quote_name
    return fields, ", ".join(f"{alias}.{quote(field.column)}" for field in fields)


def converted(model: type[models.Model], field: str | models.Field[Any, Any], value: Any) -> Any:
    """A value read by hand-written SQL as the ORM would give it (SQLite returns dates and
    times as text, decimals as floats)."""
    concrete = model._meta.get_field(field) if isinstance(field, str) else field
    assert isinstance(concrete, models.Field)
    if value is None:
        return None
    col = concrete.get_col(model._meta.db_table)
    for converter in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
        value = converter(value, col, connection)
    return value


def instance(
    model: type[models.Model], fields: Sequence[models.Field[Any, Any]], values: Sequence[Any]
) -> Any:
    """The model instance of one row's values of :func:`columns`' fields, as if loaded by
    the ORM."""
    return model.from_db(
        connection.alias,
        [field.attname for field in fields],
        [converted(model, field, value) for field, value in zip(fields, values, strict=True)],
    )


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """The first row of a read, or None (see :func:`_run`)."""
    found, _count = _run(sql, params, fetch=True)
    return found


def execute(sql: str, params: Sequence[Any]) -> int:
    """Run a write; the number of rows it changed (see :func:`_run`)."""
    _found, count = _run(sql, params, fetch=False)
    return count


def _run(sql: str, params: Sequence[Any], *, fetch: bool) -> tuple[tuple[Any, ...] | None, int]:
    """On PostgreSQL the statement is sent with its parameters apart and prepared on the
    connection (Django inlines parameters into the text, so PostgreSQL plans every query
    anew: for the scan page's join of six tables planning took longer than running it).
    Parameters are then typed by the values passed, so pass what the column holds.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return (cursor.fetchone() if fetch else None), int(cursor.rowcount)
    import psycopg

    connection.ensure_connection()
    started = time.monotonic()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        row = cursor.fetchone() if fetch else None
        count = int(cursor.rowcount)
    if connection.queries_logged:
        # Counted like Django's own queries (tests assert how many a page costs).
        connection.queries_log.append(
            {"sql": f"{sql} -- {list(params)!r}", "time": f"{time.monotonic() - started:.3f}"}
        )
    return row, count
