"""``field__any_of=[...]``: the rows whose field is one of many values.

Django writes ``IN (%s, %s, …)`` with a parameter per value, and building and parsing a
statement of 100,000 parameters costs more than running it. On PostgreSQL this lookup
sends the values as one array (``= ANY(%s)``); elsewhere it is ``IN`` as usual, and the
callers keep each list within what SQLite takes (``refmeter.common.bulk.lookup_batches``).
Registered on text fields (values sent as text) and on integer fields and foreign keys
(``IntegerAnyOf``: values sent as integers, so that PostgreSQL compares like with like).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Lookup


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return [str(value) for value in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


class IntegerAnyOf(AnyOf):
    def get_prep_lookup(self) -> Any:
        return [int(value) for value in self.rhs]
