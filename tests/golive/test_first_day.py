"""docs/go-live.md, step by step: from an empty database to the first closed month, with the
files a utility hands over (tests/fixtures/go_live/)."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from refmeter.billing.models import Bill, BillingRun, RunStatus
from refmeter.organisations.models import Role, SupplyUnit, User
from refmeter.registry.models import AccessPoint, NearbyNumber, Point

FILES = Path(__file__).parent.parent / "fixtures" / "go_live"


def run(*args: str) -> dict:
    output = io.StringIO()
    call_command(*args, "--format", "json", stdout=output, stderr=io.StringIO())
    return json.loads(output.getvalue())


@pytest.mark.django_db
def test_from_an_empty_database_to_the_first_closed_month(tmp_path):
    # 1. The first administrator (`refmeter createsuperuser`).
    User.objects.create_superuser("admin", password="first-day-password-1")

    # 2. Master data: a dry run first, then the load, all files in one transaction.
    checked = run("load_master", str(FILES), "--dry-run")
    assert not SupplyUnit.objects.exists()
    loaded = run("load_master", str(FILES))
    assert [(item["kind"], item["created"]) for item in loaded["loads"]] == [
        ("units", 3), ("users", 5), ("customers", 3), ("device_types", 2), ("tariffs", 2),
        ("areas", 10), ("access_points", 300), ("nearby_index", 50),
    ]  # fmt: skip
    assert [item["created"] for item in checked["loads"]] == [
        item["created"] for item in loaded["loads"]
    ]
    assert loaded["loads"][4]["examples"]["closed"] == [
        "电价代码 LV-NONRES 自 2026-01-01 的电价执行至 2026-10-16"
    ]
    # Checks after the loads (docs/go-live.md): counts per unit, the index resolves.
    assert AccessPoint.objects.filter(area__unit__code="3350101").count() == 150
    assert NearbyNumber.objects.filter(access_point__area__unit__code="3350101").count() == 50
    again = run("load_master", str(FILES))
    assert {item.get("changed", item.get("updated")) for item in again["loads"]} == {0}

    # 3. The stock check list: its groups and points.
    stock = run("import_stock", str(FILES / "stock.xlsx"))
    assert stock["groups"] == {"created": 3, "changed": 0, "unchanged": 0}
    assert stock["points"]["created"] == 37
    assert Point.objects.filter(status="active").count() == 39
    stats = run("stats", "--as-of", "2026-10-31")
    assert stats["total"] == 39

    # 4. Users are switched on: loaded inactive, each sets a password through their link.
    links = {link["username"]: link["path"] for link in loaded["loads"][1]["links"]}
    assert set(links) == {"3350101001", "3350101002", "3350101010", "3350101099", "3350102001"}
    assert not User.objects.filter(username__in=links, is_active=True).exists()
    assert User.objects.get(username="3350102001").role == Role.BILLING
    password = {"new_password1": "first-day-password-2", "new_password2": "first-day-password-2"}
    assert {Client().post(path, password).status_code for path in links.values()} == {302}
    assert User.objects.filter(username__in=links, is_active=True).count() == 5

    # 5. A month of readings from the collection system.
    readings = run("import_readings", str(FILES / "readings-2026-10.csv"))
    assert readings["created"] == 96

    # 6. Reconciliation with the marketing system's list, before the run: the two agree.
    agreed = run("reconcile", str(FILES / "marketing-list.csv"), "--as-of", "2026-10-31")
    assert agreed["differences"] == []
    # A multiplier the marketing system has wrong is found (exit 1), with its account.
    wrong = tmp_path / "marketing-list.csv"
    wrong.write_bytes(
        (FILES / "marketing-list.csv").read_bytes().replace(b"1702000001,12", b"1702000001,11")
    )
    output = io.StringIO()
    with pytest.raises(SystemExit) as differ:
        call_command("reconcile", str(wrong), "--as-of", "2026-10-31", "--format", "json",
                     stdout=output, stderr=io.StringIO())  # fmt: skip
    assert differ.value.code == 1
    assert [item["account_number"] for item in json.loads(output.getvalue())["differences"]] == [
        "1702000001"
    ]

    # 7. The first month: billed per unit, then closed.
    billed = run("bill", "--period", "2026-10", "--close")

    assert set(BillingRun.objects.values_list("unit__code", "status")) == {
        ("3350101", RunStatus.CLOSED), ("3350102", RunStatus.CLOSED),
    }  # fmt: skip
    assert {
        bill.base_account_number: (bill.billed_energy, bill.total_amount, bill.point_days)
        for bill in Bill.objects.all()
    } == {
        # 12 points: 22.50 kWh × 12 at 0.65 (1st-15th), 24.00 kWh × 12 at 0.68 (16th-31st)
        "1702000001": (Decimal("558.00"), Decimal("371.34"), 372),
        # CT ratio 2, 7 points, an eighth connected on the 20th (12 days):
        # 12.00 × 2 × 7 at 0.65 = 168.00 kWh; 12.80 × 2 × (7 × 16 + 12) ÷ 16 at 0.68 = 198.40
        "1702000101": (Decimal("366.40"), Decimal("244.11"), 229),
        # 19 points (a twentieth removed in September): 45.00 × 19 and 48.00 × 19
        "1703000001": (Decimal("1767.00"), Decimal("1175.91"), 589),
    }
    assert billed
