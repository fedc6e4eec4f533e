"""Set-based writes for loads of many rows: COPY on PostgreSQL for large batches, bulk
inserts elsewhere (SQLite, and batches too small for COPY to pay off).

COPY returns no ids, so the rows written are read back by a unique key among those above
the highest id visible before the COPY; the callers hold the transaction of the load.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import connection, models

# Below this many rows bulk inserts are as quick as COPY.
COPY_FROM = 1000
# Keeps every IN list within what SQLite accepts in one statement.
LOOKUP_CHUNK = 5000

ModelT = TypeVar("ModelT", bound=models.Model)


def use_copy(rows: int) -> bool:
    return connection.vendor == "postgresql" and rows >= COPY_FROM


def copy_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """COPY the rows (values in the order of the database ``columns``) into the model's
    table, on the connection (and in the transaction) Django uses."""
    names = ", ".join(connection.ops.quote_name(name) for name in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    connection.ensure_connection()
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _columns(model: type[models.Model], fields: Sequence[str]) -> list[str]:
    return [getattr(model._meta.get_field(name), "column", name) for name in fields]


def _top_id(model: type[models.Model]) -> int:
    return model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0


def insert(model: type[ModelT], objects: list[ModelT], *, key: tuple[str, ...]) -> None:
    """Insert the new rows in one set and give each its id; ``key`` names the fields that
    tell them apart (unique together)."""
    if not objects:
        return
    if use_copy(len(objects)):
        before = _top_id(model)
        fields = [
            item.attname
            for item in model._meta.concrete_fields
            if not isinstance(item, models.AutoField)
        ]
        copy_rows(
            model,
            _columns(model, fields),
            ([getattr(item, name) for name in fields] for item in objects),
        )
        ids = {
            tuple(found[:-1]): found[-1]
            for found in model._default_manager.filter(pk__gt=before).values_list(*key, "pk")
        }
        for instance in objects:
            instance.pk = ids[tuple(getattr(instance, name) for name in key)]
        return
    model._default_manager.bulk_create(objects, batch_size=1000)


def insert_values(
    model: type[models.Model], fields: Sequence[str], rows: list[tuple[Any, ...]]
) -> list[int]:
    """:func:`insert` for rows given as values of ``fields`` (attribute names; the first
    unique), without building a model instance per row on PostgreSQL; their ids in order."""
    if not rows:
        return []
    if use_copy(len(rows)):
        before = _top_id(model)
        copy_rows(model, _columns(model, fields), rows)
        key = fields[0].removesuffix("_id")
        ids = dict(model._default_manager.filter(pk__gt=before).values_list(key, "pk"))
        return [ids[row[0]] for row in rows]
    objects = [model(**dict(zip(fields, row, strict=True))) for row in rows]
    model._default_manager.bulk_create(objects, batch_size=1000)
    if objects and objects[0].pk is None:
        # Databases that do not return keys from a bulk insert.
        key = fields[0].removesuffix("_id")
        ids = {}
        for batch in chunked([row[0] for row in rows]):
            ids.update(
                model._default_manager.filter(**{f"{key}__in": batch}).values_list(key, "pk")
            )
        return [ids[row[0]] for row in rows]
    return [instance.pk for instance in objects]


def lookup_batches(values: Iterable[Any]) -> Iterable[list[Any]]:
    """The values in lists for ``field__any_of``: all at once on PostgreSQL (one array
    parameter), in lists SQLite accepts elsewhere."""
    ordered = sorted(set(values))
    if connection.vendor == "postgresql":
        if ordered:
            yield ordered
        return
    for batch in chunked(ordered):
        yield list(batch)


def chunked(values: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
