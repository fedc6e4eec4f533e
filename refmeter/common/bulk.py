"""Set-based writes for loads of many rows: COPY on PostgreSQL for large batches, bulk
inserts elsewhere (SQLite, and batches too small for COPY to pay off).

COPY returns no ids, so the rows written are read back by a unique key among those above
the highest id visible before the COPY; the callers hold the transaction of the load.
"""

from __future__ import annotations

import json
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
        concrete = [
            item for item in model._meta.concrete_fields if not isinstance(item, models.AutoField)
        ]
        fields = [item.attname for item in concrete]
        # JSON needs the database's adapter; every other value COPY writes as it is.
        json_at = [i for i, item in enumerate(concrete) if isinstance(item, models.JSONField)]

        def row(instance: models.Model) -> list[Any]:
            values = [getattr(instance, name) for name in fields]
            for index in json_at:
                values[index] = concrete[index].get_db_prep_save(values[index], connection)
            return values

        copy_rows(model, _columns(model, fields), (row(item) for item in objects))
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


# SQLite accepts 32,766 parameters in one statement.
UPDATE_PARAMETERS = 30_000


def update_rows(model: type[ModelT], objects: Sequence[ModelT], fields: Sequence[str]) -> int:
    """Save ``fields`` of the objects (which have ids) in a few statements: ``UPDATE ...
    FROM`` the new values, one array a column on PostgreSQL, a list of values elsewhere,
    where ``bulk_update`` builds one ``CASE`` a field that the database tries row by row.
    Returns the rows updated."""
    if not objects:
        return 0
    chosen: list[Any] = [model._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    columns = [quote(field.column) for field in chosen]
    table = quote(model._meta.db_table)
    pk: Any = model._meta.pk
    key = f"{table}.{quote(pk.column)}"
    if connection.vendor == "postgresql":
        return _update_from_arrays(model, objects, chosen, columns, table, key)
    assignments = ", ".join(f"{column} = v.{column}" for column in columns)
    # SQLite names the columns of VALUES column1, column2, ...
    aliases = ", ".join(
        f"column{index} AS {name}" for index, name in enumerate(["rowid_", *columns], start=1)
    )
    row = "(" + ", ".join(["%s"] * (len(chosen) + 1)) + ")"
    size = max(1, UPDATE_PARAMETERS // (len(chosen) + 1))
    updated = 0
    with connection.cursor() as cursor:
        for batch in chunked(objects, size):
            parameters: list[Any] = []
            for instance in batch:
                parameters.append(instance.pk)
                parameters.extend(
                    field.get_db_prep_save(getattr(instance, field.attname), connection)
                    for field in chosen
                )
            values = f"VALUES {', '.join([row] * len(batch))}"
            cursor.execute(
                f"UPDATE {table} SET {assignments} "
                f"FROM (SELECT {aliases} FROM ({values})) AS v WHERE {key} = v.rowid_",
                parameters,
            )
            updated += cursor.rowcount
    return updated


def _update_from_arrays(
    model: type[models.Model],
    objects: Sequence[models.Model],
    chosen: list[Any],
    columns: list[str],
    table: str,
    key: str,
) -> int:
    """One array parameter a column, unnested: the statement stays a few hundred bytes
    however many rows it updates. JSON travels as text and is cast back."""
    arrays: list[list[Any]] = [[instance.pk for instance in objects]]
    pk: Any = model._meta.pk
    types = [pk.db_type(connection)]
    casts = []
    for field, column in zip(chosen, columns, strict=True):
        kind = field.db_type(connection)
        if isinstance(field, models.JSONField):
            arrays.append(
                [json.dumps(getattr(item, field.attname), cls=field.encoder) for item in objects]
            )
            types.append("text")
            casts.append(f"{column} = v.{column}::jsonb")
        else:
            arrays.append(
                [
                    field.get_db_prep_save(getattr(item, field.attname), connection)
                    for item in objects
                ]
            )
            types.append(kind)
            casts.append(f"{column} = v.{column}")
    unnest = ", ".join(f"%s::{kind}[]" for kind in types)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {', '.join(casts)} "
            f"FROM unnest({unnest}) AS v(rowid_, {', '.join(columns)}) WHERE {key} = v.rowid_",
            arrays,
        )
        return int(cursor.rowcount)
