"""The exports of master data, in the very format each load reads (so an export loads back
unchanged), and the templates: the header row with one example row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from refmeter.common.tables import csv_text, write_xlsx
from refmeter.masterdata.sheet import Spec
from refmeter.masterdata.specs import (
    ACCESS_POINTS,
    AREAS,
    CUSTOMERS,
    DETAILS,
    DEVICE_TYPES,
    PRICES,
    TARIFFS,
    UNITS,
    USERS,
    role_words,
    tariff_kind_word,
    unit_kind_word,
)
from refmeter.organisations.models import SupplyUnit, User
from refmeter.organisations.permissions import Action, ActionNotAllowed, require
from refmeter.organisations.selectors import unit_scope, units_visible_to
from refmeter.registry.models import (
    AccessPoint,
    Customer,
    DeviceType,
    NearbyNumber,
    TransformerArea,
)

SPECS: dict[str, Spec] = {
    spec.kind: spec
    for spec in (UNITS, USERS, CUSTOMERS, DEVICE_TYPES, TARIFFS, AREAS, ACCESS_POINTS)
}


def may_load_master_data(*, user: object) -> bool:
    try:
        require_administrator(user)  # type: ignore[arg-type]
    except ActionNotAllowed:
        return False
    return True


def require_administrator(actor: User) -> None:
    """Master data is loaded by the administrators of a unit (for their unit and those
    under it) or by a superuser (the whole company, and the first units): the matrix's
    ``load_master_data``."""
    require(user=actor, action=Action.LOAD_MASTER_DATA)


NEARBY_HEADER = ("就近户号/局号", "类型", "接入点编号", "接入点名称", "台区编号")
NEARBY_KIND_WORDS = {"account": "户号", "meter": "局号", "pole": "杆号/箱号"}


def _units(actor: User | None) -> Iterator[Sequence[object]]:
    units = SupplyUnit.objects.all() if actor is None else units_visible_to(user=actor)
    for unit in units.select_related("parent").order_by("path"):
        yield (
            unit.code,
            unit.name,
            unit.parent.code if unit.parent else "",
            unit_kind_word(unit.kind),
            unit.account_prefix,
        )


def _users(actor: User | None) -> Iterator[Sequence[object]]:
    # Users without a unit (the first superusers) are no row of a load.
    users = User.objects.filter(unit__isnull=False).order_by("unit__path", "username")
    if actor is not None:
        users = users.filter(unit_scope(user=actor))
    names = {str(role.value): word for word, role in role_words().items()}
    rows = users.values_list("username", "first_name", "unit__code", "role", "phone")
    for username, name, code, role, phone in rows.iterator(chunk_size=2000):
        yield (username, name, code, names.get(role, role), phone)


def _customers(actor: User | None) -> Iterator[Sequence[object]]:
    customers = Customer.objects.select_related("unit").order_by("unit__path", "name")
    if actor is not None:
        customers = customers.filter(unit_scope(user=actor))
    for customer in customers.iterator(chunk_size=2000):
        details = [getattr(customer, key) for key in DETAILS]
        yield (customer.unit.code, customer.name, *details, customer.created_date)


def _device_types(actor: User | None) -> Iterator[Sequence[object]]:
    for device in DeviceType.objects.order_by("name"):
        yield (device.name, device.rated_watts, device.daily_operating_hours)


def _tariffs(actor: User | None) -> Iterator[Sequence[object]]:
    from refmeter.billing.models import Tariff

    for tariff in Tariff.objects.order_by("code", "effective_from"):
        prices = [getattr(tariff, key) for key in PRICES]
        yield (
            tariff.code,
            tariff.name,
            tariff_kind_word(tariff.kind),
            *prices,
            tariff.effective_from,
        )


def _areas(actor: User | None) -> Iterator[Sequence[object]]:
    areas = TransformerArea.objects.order_by("number")
    if actor is not None:
        areas = areas.filter(unit_scope(user=actor))
    yield from areas.values_list("number", "name", "unit__code").iterator(chunk_size=5000)


def _access_points(actor: User | None) -> Iterator[Sequence[object]]:
    places = AccessPoint.objects.order_by("number")
    if actor is not None:
        places = places.filter(unit_scope(user=actor, unit_field="area__unit"))
    yield from places.values_list("number", "name", "area__number").iterator(chunk_size=5000)


def _nearby(actor: User | None) -> Iterator[Sequence[object]]:
    entries = NearbyNumber.objects.order_by("number")
    if actor is not None:
        entries = entries.filter(unit_scope(user=actor, unit_field="access_point__area__unit"))
    for number, kind, place, place_name, area in entries.values_list(
        "number", "kind", "access_point__number", "access_point__name",
        "access_point__area__number",
    ).iterator(chunk_size=5000):  # fmt: skip
        yield (number, NEARBY_KIND_WORDS.get(kind, kind), place, place_name, area)


ROWS = {
    "units": _units,
    "users": _users,
    "customers": _customers,
    "device_types": _device_types,
    "tariffs": _tariffs,
    "areas": _areas,
    "access_points": _access_points,
    "nearby_index": _nearby,
}
EXPORT_ORDER = (*SPECS, "nearby_index")


def header_of(kind: str) -> tuple[str, ...]:
    if kind == "nearby_index":
        return NEARBY_HEADER
    return tuple(column.label for column in SPECS[kind].columns)


def sheet_of(kind: str) -> str:
    return "就近户号索引" if kind == "nearby_index" else SPECS[kind].sheet


def file_name_of(kind: str) -> str:
    return f"{kind.replace('_', '-')}.xlsx"


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        # Prices keep their four places (csv_text writes money's two).
        writer.writerow(
            [str(value) if isinstance(value, Decimal) else csv_text(value) for value in row]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def master_export(*, kind: str, actor: User | None, as_csv: bool = False) -> bytes:
    """One kind of master data as its load reads it: xlsx (or CSV in UTF-8). ``actor`` None
    is the whole database (the command line)."""
    if actor is not None:
        require_administrator(actor)
    rows = ROWS[kind](actor)
    if as_csv:
        return _csv(header_of(kind), rows)
    return write_xlsx(title=sheet_of(kind), header=header_of(kind), rows=rows)


def master_template(*, kind: str) -> bytes:
    """The header row and one example row."""
    if kind == "nearby_index":
        example: Sequence[object] = ("1701636729", "户号", "33503000009083788", "", "")
    else:
        example = SPECS[kind].example
    return write_xlsx(title=sheet_of(kind), header=header_of(kind), rows=[example])
