from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from decimal import Decimal

from django.core.management import call_command
from django.db.models import Count, Q

from refmeter.demo.generator import load_demo, split_evenly
from refmeter.registry.models import Group, Point, PointKind

TODAY = dt.date(2026, 11, 27)
NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
SOURCE_TABLE_1 = {
    "中国电信股份有限公司绍兴分公司": 1657,
    "中国联合网络通信有限公司绍兴市分公司": 774,
    "中国移动通信集团浙江有限公司绍兴分公司": 2017,
    "中广有线信息网络有限公司绍兴分公司": 2681,
    "绍兴市越城区蛟里村股份经济合作社": 7,
    "绍兴市内河管理处": 10,
    "绍兴市交通物业管理有限公司": 36,
    "绍兴市公安局交通警察支队": 3,
}


class TestDemoCity:
    def test_the_demo_city_is_the_sources_city_and_it_is_alive(self, db):
        """Loaded once (it takes a while): the source's table, the rules, the work in
        progress, the readings and the anomalies it shows."""
        from refmeter.anomalies.models import AnomalyCase
        from refmeter.organisations.models import User
        from refmeter.readings.models import MeterReading
        from refmeter.workorders.models import Step, WorkOrder
        from refmeter.workorders.selectors import archive_deadlines

        summary = load_demo(today=TODAY, now=NOW)
        output = io.StringIO()
        call_command("stats", "--format", "json", "--as-of", TODAY.isoformat(), stdout=output)
        stats = json.loads(output.getvalue())
        groups = Group.objects.annotate(
            bases=Count("points", filter=Q(points__kind=PointKind.BASE)),
            active_subs=Count(
                "points",
                filter=Q(points__kind=PointKind.SUB, points__active_to_date__isnull=True),
            ),
        )
        deadlines = archive_deadlines(user=User.objects.get(username="custmgr"), today=TODAY)
        open_kinds = set(AnomalyCase.objects.filter(status="open").values_list("kind", flat=True))

        assert stats["total"] == 7185
        assert {row["customer"]: row["points"] for row in stats["by_customer"]} == SOURCE_TABLE_1
        assert sum(row["points"] for row in stats["by_device_type"]) == 7185
        assert sum(row["points"] for row in stats["by_area"]) == 7185
        assert summary.areas == 2000
        assert {group.bases for group in groups} == {1}
        assert max(group.active_subs for group in groups) <= 100
        assert not Point.objects.filter(status="active", access_point__isnull=True).exists()
        assert Point.objects.filter(status="cancelled").exists()
        assert set(WorkOrder.objects.values_list("kind", "step")) == {
            ("new_install", Step.SURVEY),
            ("change", Step.ARCHIVE),
        }
        assert len(deadlines.overdue) == 1
        assert MeterReading.objects.filter(reading_date=TODAY).count() >= 80
        assert MeterReading.objects.filter(forward_total=Decimal("1149.24")).count() > 250
        assert {"stopped", "zero", "missing", "unbalanced", "running_fast"} <= open_kinds
        from refmeter.inspections.models import InspectionPlan
        from refmeter.lineloss.models import AreaEnergy
        from refmeter.outages.models import Outage

        # Every area where a virtual sub-account draws power; three areas hold only base
        # accounts, whose energy is already in the metered sales.
        assert AreaEnergy.objects.count() == 1732
        assert Outage.objects.count() == 1
        plan = InspectionPlan.objects.get()
        # ceil(n / 5) for each of 城南's four customers: about a fifth, never less
        assert 3691 / 5 <= plan.targets.count() <= 3691 / 5 + 4


class TestSplitting:
    def test_groups_of_one_customer_differ_by_at_most_one_point(self):
        assert split_evenly(1657, 91) == [88] * 4 + [87] * 15
        assert sum(split_evenly(2681, 91)) == 2681
        assert split_evenly(7, 91) == [7]


class TestCommandLine:
    def test_a_bad_date_exits_non_zero_with_a_clear_message(self):
        result = subprocess.run(
            [sys.executable, "-m", "refmeter.cli", "stats", "--as-of", "2026-13-01"],
            capture_output=True,
            text=True,
            check=False,
        )

        assert result.returncode == 1
        assert "日期格式错误：2026-13-01，应为 YYYY-MM-DD。" in result.stderr
