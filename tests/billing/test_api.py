from __future__ import annotations

import datetime as dt
from decimal import Decimal

from refmeter.billing.services import billing_run, tariff_create
from refmeter.organisations.services import api_token_create
from refmeter.readings.models import MeterReading
from tests import factories

NOW = dt.datetime(2026, 7, 2, 2, 0, tzinfo=dt.UTC)


def bearer(user) -> dict[str, str]:
    key = api_token_create(user=user, name="采集系统", now=dt.datetime.now(dt.UTC))
    return {"Authorization": f"Bearer {key}"}


class TestReadingsApi:
    def test_a_batch_goes_in_whole_or_not_at_all(self, client, city):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        good = {"meter_asset_number": group.meter_asset_number, "reading_date": "2026-06-01",
                "forward_total": "10.00", "reverse_total": "0"}  # fmt: skip
        bad = {**good, "reading_date": "2026-06-02", "forward_total": "-1"}

        refused = client.post("/api/v1/readings", {"readings": [good, bad]},
                              content_type="application/json", headers=bearer(city.south_admin))  # fmt: skip
        accepted = client.post("/api/v1/readings", {"readings": [good]},
                               content_type="application/json", headers=bearer(city.south_admin))  # fmt: skip

        assert refused.status_code == 400
        assert refused.json()["problems"] == ["第 3 行 C 列（正向有功总）：示数不能为负数。"]
        assert accepted.json() == {"rows": 1, "created": 1, "corrected": 0, "unchanged": 0}
        assert MeterReading.objects.count() == 1


class TestBillsApi:
    def test_the_marketing_system_reads_a_months_bills(self, client, city):
        tariff_create(
            code="LV", name="单一制", effective_from=dt.date(2020, 1, 1), price=Decimal("0.5")
        )
        group = factories.group(
            actor=city.south_admin, unit=city.south, place=city.south_place,
            active_from=dt.date(2026, 1, 1),
        )  # fmt: skip
        factories.group_terms(group, actor=city.south_admin, tariff_code="LV")
        factories.readings(group, dt.date(2026, 6, 1), [100 + day for day in range(31)])
        billing_run(actor=None, period="2026-06", now=NOW)

        bills = client.get(
            "/api/v1/bills", {"period": "2026-06"}, headers=bearer(city.south_clerk)
        ).json()

        assert [
            (bill["base_account_number"], bill["billed_energy"], bill["total_amount"])
            for bill in bills
        ] == [("1702000001", "30.00", "15.00")]

    def test_another_units_token_sees_none_of_the_bills(self, client, city, group):
        factories.readings(group, dt.date(2026, 6, 1), [100 + day for day in range(31)])
        billing_run(actor=None, period="2026-06", now=NOW)

        south = client.get("/api/v1/bills", {"period": "2026-06"}, headers=bearer(city.south_clerk))
        north = client.get("/api/v1/bills", {"period": "2026-06"}, headers=bearer(city.north_clerk))

        assert [bill["number"] for bill in south.json()] == ["DF202606-1702000001"]
        assert north.json() == []

    def test_a_malformed_period_is_refused_in_chinese(self, client, city):
        response = client.get(
            "/api/v1/bills", {"period": "2026-6x"}, headers=bearer(city.south_clerk)
        )

        assert (response.status_code, response.json()) == (
            400,
            {"detail": "账期“2026-6x”格式不正确，应为 YYYY-MM，例如 2026-10。"},
        )
