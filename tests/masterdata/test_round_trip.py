"""The demo city (made small) exported from one database and loaded into an empty one,
followed by import-stock of its stock list, gives the same statistics."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

from django.core.management import call_command

from refmeter.common.spreadsheets import read_rows
from refmeter.demo import generator
from refmeter.demo.generator import load, places
from refmeter.masterdata.selectors import EXPORT_ORDER, file_name_of
from refmeter.organisations.models import User
from tests.masterdata.helpers import superuser

TODAY = dt.date(2026, 11, 27)
NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)


def _small_demo(monkeypatch) -> None:
    """The demo generator with a few points a customer, without readings or field work."""
    from refmeter.anomalies import services as anomalies

    # Patched where the generator's modules look them up.
    monkeypatch.setattr(places, "AREAS_PER_UNIT", 6)
    monkeypatch.setattr(places, "NEARBY_NUMBERS_PER_UNIT", 20)
    monkeypatch.setattr(load, "SUB_ACCOUNTS_PER_GROUP", 12)
    monkeypatch.setattr(
        load,
        "CUSTOMERS",
        [
            generator.DemoCustomer(
                spec.name,
                spec.short,
                spec.unit_code,
                {device: min(points, 30) for device, points in spec.points.items()},
                spec.phone,
                spec.contact,
            )
            for spec in generator.CUSTOMERS
        ],
    )
    monkeypatch.setattr(load, "_demo_readings", lambda **kwargs: 0)
    monkeypatch.setattr(load, "_demo_work_orders", lambda **kwargs: None)
    monkeypatch.setattr(load, "_demo_field_and_grid", lambda **kwargs: None)
    monkeypatch.setattr(anomalies, "anomalies_scan", lambda **kwargs: None)


def _stats() -> dict:
    output = io.StringIO()
    call_command("stats", "--format", "json", "--as-of", TODAY.isoformat(), stdout=output)
    return json.loads(output.getvalue())


def _files(directory) -> dict[str, list[list[object]]]:
    return {kind: read_rows(directory / file_name_of(kind)) for kind in EXPORT_ORDER}


class TestExportMasterThenLoadMaster:
    def test_the_demo_city_loaded_into_an_empty_database_gives_the_same_statistics(
        self, transactional_db, monkeypatch, tmp_path
    ):
        from refmeter.billing.models import Tariff, TariffKind

        _small_demo(monkeypatch)
        generator.load_demo(today=TODAY, now=NOW)
        Tariff.objects.create(
            code="LV-NONRES",
            name="一般工商业单一制",
            kind=TariffKind.SINGLE,
            effective_from=dt.date(2010, 1, 1),
            price=Decimal("0.6580"),
        )
        Tariff.objects.create(code="LV-NONRES", name="一般工商业单一制", kind=TariffKind.SINGLE,
                              effective_from=dt.date(2026, 7, 1), price=Decimal("0.6625"))  # fmt: skip
        before = _stats()
        call_command("export_master", str(tmp_path / "master"), stdout=io.StringIO())
        call_command("export_stock", str(tmp_path / "stock.xlsx"), stdout=io.StringIO())
        exported = _files(tmp_path / "master")

        call_command("flush", interactive=False)
        superuser()
        output = io.StringIO()
        call_command("load_master", str(tmp_path / "master"), "--format", "json", stdout=output)
        loaded = json.loads(output.getvalue())
        call_command("import_stock", str(tmp_path / "stock.xlsx"), stdout=io.StringIO())
        call_command("export_master", str(tmp_path / "again"), stdout=io.StringIO())

        assert before["total"] > 100
        assert _stats() == before
        assert _files(tmp_path / "again") == exported
        assert [item["kind"] for item in loaded["loads"]] == [
            "units", "users", "customers", "device_types", "tariffs", "areas", "access_points",
            "nearby_index",
        ]  # fmt: skip
        assert loaded["loads"][1]["created"] == 11  # the demo's users, switched off
        assert not User.objects.filter(is_active=True).exclude(username="root").exists()
        assert loaded["loads"][6]["created"] == 24
        assert loaded["loads"][7]["created"] == 40

    def test_a_dry_run_of_the_whole_directory_writes_nothing(
        self, transactional_db, monkeypatch, tmp_path
    ):
        from refmeter.organisations.models import SupplyUnit

        _small_demo(monkeypatch)
        generator.load_demo(today=TODAY, now=NOW)
        call_command("export_master", str(tmp_path), stdout=io.StringIO())
        call_command("flush", interactive=False)
        superuser()
        output = io.StringIO()

        call_command("load_master", str(tmp_path), "--dry-run", "--format", "json", stdout=output)

        result = json.loads(output.getvalue())
        assert result["dry_run"] is True
        assert result["loads"][0]["created"] == 3
        assert (result["loads"][1]["created"], result["loads"][1]["links"]) == (11, [])
        assert list(User.objects.values_list("username", flat=True)) == ["root"]
        assert not SupplyUnit.objects.exists()
