"""Benchmark: the search box over 1,000,000 points on PostgreSQL.

Builds a throwaway database (dropped and created again) with set-based SQL
(``INSERT … SELECT generate_series``): two service areas, 16 customers, 20,000 areas,
40,000 access points, 10,000 groups of 100 points (a base account and 99 sub-accounts)
with Chinese names and addresses. Then it times each kind of query through the real
selector (``refmeter.search.selectors.registry_search``) as a service-area clerk, and the
whole page through Django's test client, about 50 different queries a kind; the floor,
measured in the same run, is one point read by its primary key through the ORM.

    .venv/bin/python bench/search.py [--points 1000000] [--runs 50]
        [--database-url postgres://postgres@127.0.0.1:5432/refmeter_search_bench]

Results go to bench/results/search.json and bench/results/search.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DEFAULT_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/refmeter_search_bench"
)
POINTS_PER_GROUP = 100
AREAS = 20_000
# Address parts: 20 streets x 1,600 estates (two characters each from 40 x 40) x 60
# buildings, so an estate name is rare and a street name common.
STREETS = "城南 城北 府山 北海 塔山 稽山 东湖 灵芝 东浦 鉴湖 斗门 马山 孙端 陶堰 富盛 皋埠 袍江 迪荡 东盛 越城"
FIRST = "江枫林松竹梅兰菊桃李杏柳荷莲桂樱海湖河溪泉山峰岭石金银玉翠碧青红紫云霞星月阳光明"
SECOND = "苑园庭府居邸湾岸城坊里村庄寓舍阁楼台轩亭廊桥港畔洲渚滨汀洋源泽丘原野田垄畦塘圃湖"
assert len(FIRST) == len(set(FIRST)) == 40 and len(SECOND) == len(set(SECOND)) == 40
CUSTOMERS = [
    "中国电信",
    "中国联通",
    "中国移动",
    "中广有线",
    "蛟里",
    "内河管理",
    "交通物业",
    "交警支队",
]


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["ALLOWED_HOSTS"] = "testserver"  # the test client's host
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refmeter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def recreate_database(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    server = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def build(points: int) -> dict:
    """The registry of ``points`` points, set-based; returns the ids the queries need."""
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from refmeter.organisations.models import Role, UnitKind
    from refmeter.organisations.services import supply_unit_create, user_create
    from refmeter.registry.services import device_type_create

    call_command("migrate", interactive=False, verbosity=0)
    now = timezone.now()
    company = supply_unit_create(code="33501", name="国网绍兴供电公司", kind=UnitKind.COMPANY,
                                 parent=None, now=now)  # fmt: skip
    south = supply_unit_create(code="3350101", name="城南", kind=UnitKind.SERVICE_AREA,
                               parent=company, account_prefix="1702", now=now)  # fmt: skip
    north = supply_unit_create(code="3350102", name="城北", kind=UnitKind.SERVICE_AREA,
                               parent=company, account_prefix="1703", now=now)  # fmt: skip
    admin = user_create(username="admin", password="x", unit=company, role=Role.ADMINISTRATOR,
                        is_superuser=True, now=now)  # fmt: skip
    clerk = user_create(username="clerk", password="x", unit=south, role=Role.CLERK, now=now)
    device = device_type_create(actor=admin, name="楼道EPON设备", rated_watts=Decimal(400), now=now)
    groups = points // POINTS_PER_GROUP
    # Nine groups in ten are the south unit's, where the clerk works.
    params = {
        "south": south.pk, "north": north.pk, "device": device.pk, "groups": groups,
        "areas": AREAS, "per_group": POINTS_PER_GROUP, "streets": STREETS.split(),
        "first": list(FIRST), "second": list(SECOND), "customers": CUSTOMERS,
    }  # fmt: skip
    statements = [
        """INSERT INTO registry_customer (unit_id, name, registration_number, address, postcode,
               phone, handler_name, handler_id_number, handler_phone, outage_contact_name,
               outage_contact_phone, sms_number, created_date)
           SELECT CASE WHEN u = 0 THEN %(south)s ELSE %(north)s END,
                  c || CASE WHEN u = 0 THEN '城南' ELSE '城北' END || '分公司', '', '', '', '',
                  '', '', '', '', '', '', DATE '2015-01-01'
           FROM unnest(%(customers)s::text[]) AS c, generate_series(0, 1) AS u""",
        """INSERT INTO registry_transformerarea (unit_id, number, name)
           SELECT CASE WHEN i %% 10 = 9 THEN %(north)s ELSE %(south)s END,
                  '33' || lpad(i::text, 8, '0'),
                  (%(first)s::text[])[1 + i %% 40] || (%(second)s::text[])[1 + (i / 40) %% 40]
                  || i || '#配'
           FROM generate_series(0, %(areas)s - 1) AS i""",
        """INSERT INTO registry_accesspoint (number, name, area_id)
           SELECT '33503' || lpad(i::text, 12, '0'),
                  a.name || (i %% 2 + 1) || '号终端箱', a.id
           FROM generate_series(0, 2 * %(areas)s - 1) AS i
           JOIN registry_transformerarea a ON a.number = '33' || lpad((i / 2)::text, 8, '0')""",
        """INSERT INTO registry_group (unit_id, customer_id, device_type_id, tariff_code,
               meter_asset_number, meter_barcode, meter_box_resource_number, ct_ratio,
               meter_install_date, created_date, status, closed_date, version)
           SELECT CASE WHEN g %% 10 = 9 THEN %(north)s ELSE %(south)s END,
                  (SELECT id FROM registry_customer c
                    WHERE c.unit_id = CASE WHEN g %% 10 = 9 THEN %(north)s ELSE %(south)s END
                    ORDER BY id OFFSET g %% 8 LIMIT 1),
                  %(device)s, 'LV', '3310' || lpad(g::text, 9, '0'),
                  'ZJ' || lpad(g::text, 12, '0'), '', 1, DATE '2015-01-01',
                  DATE '2015-01-01' + (g %% 3000), 'running', NULL, 1
           FROM generate_series(0, %(groups)s - 1) AS g""",
        # Point i of group g: account 17 + 8 digits, so a unit's numbers share a prefix.
        """INSERT INTO registry_point (group_id, kind, account_number, name, device_address,
               nearby_number, access_point_id, area_id, status, active_from_date,
               active_to_date, version)
           SELECT gr.id, CASE WHEN p = 0 THEN 'base' ELSE 'sub' END,
                  CASE WHEN gr.unit_id = %(south)s THEN '1702' ELSE '1703' END
                  || lpad((n.g * %(per_group)s + p)::text, 6, '0'),
                  estate || (p %% 60 + 1) || '幢' || CASE WHEN p = 0 THEN '基准户' ELSE '设备' END,
                  '越城区' || (%(streets)s::text[])[1 + n.g %% 20] || '街道' || estate
                  || '小区' || (p %% 60 + 1) || '幢' || (p %% 6 + 1) || '单元',
                  '', ap.id, ap.area_id, 'active', DATE '2015-01-01', NULL, 1
           FROM generate_series(0, %(groups)s - 1) AS n(g)
           JOIN registry_group gr ON gr.meter_asset_number = '3310' || lpad(n.g::text, 9, '0')
           CROSS JOIN LATERAL (SELECT (%(first)s::text[])[1 + n.g %% 40]
                  || (%(second)s::text[])[1 + (n.g / 40) %% 40] AS estate) e
           CROSS JOIN generate_series(0, %(per_group)s - 1) AS p
           JOIN registry_accesspoint ap
             ON ap.number = '33503' || lpad(((n.g * 7 + p) %% (2 * %(areas)s))::text, 12, '0')""",
        # What autovacuum does to a database in use: the planner's statistics, and the
        # GIN indexes' pending lists merged (a bulk load leaves them long and slow).
        "VACUUM ANALYZE",
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, params)
        cursor.execute("SELECT count(*) FROM registry_point")
        (count,) = cursor.fetchone()
    return {"points": count, "clerk_id": clerk.pk, "groups": groups}


def timed(function, arguments: list) -> dict:
    times = []
    found = []
    for argument in arguments:
        start = time.perf_counter()
        result = function(argument)
        times.append((time.perf_counter() - start) * 1000)
        found.append(result)
    times.sort()
    return {
        "runs": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 2),
        "max_ms": round(times[-1], 2),
        "found_median": statistics.median(found),
    }


def measure(built: dict, runs: int) -> dict:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from refmeter.organisations.models import User
    from refmeter.registry.models import Point
    from refmeter.search.selectors import UnusableSearch, registry_search

    clerk = User.objects.select_related("unit").get(pk=built["clerk_id"])
    rng = random.Random(20261203)
    groups = built["groups"]
    south_groups = [g for g in range(groups) if g % 10 != 9]

    def account(g: int, p: int) -> str:
        return "1702" + f"{g * POINTS_PER_GROUP + p:06d}"

    picks = [rng.choice(south_groups) for _ in range(runs)]
    streets = STREETS.split()
    queries = {
        "sub-account number (exact)": [account(g, rng.randrange(1, 100)) for g in picks],
        "base account number (exact)": [account(g, 0) for g in picks],
        "account number prefix (7 digits)": [account(g, 0)[:7] for g in picks],
        "access point number (17 digits)": [
            f"33503{rng.randrange(2 * AREAS):012d}" for _ in range(runs)
        ],
        "transformer area number": [f"33{rng.randrange(AREAS):08d}" for _ in range(runs)],
        "meter asset number": [f"3310{g:09d}" for g in picks],
        "meter barcode": [f"ZJ{g:012d}" for g in picks],
        "customer name (2 characters)": [
            rng.choice(["电信", "联通", "移动", "有线"]) for _ in range(runs)
        ],
        "address: estate (4 characters, rare)": [
            FIRST[g % 40] + SECOND[(g // 40) % 40] + "小区" for g in picks
        ],
        # Streets 9 and 19 are the other unit's only (groups g % 10 == 9): the database
        # reads every match of the text to find none in the clerk's unit.
        "address: street (4 characters, common)": [
            rng.choice([s for i, s in enumerate(streets) if i % 10 != 9]) + "街道"
            for _ in range(runs)
        ],
        "address: street common in another unit only": [
            rng.choice([streets[9], streets[19]]) + "街道" for _ in range(runs)
        ],
        "address: nothing found": [f"不存在{index}号" for index in range(runs)],
    }

    def search(text: str) -> int:
        try:
            return registry_search(user=clerk, text=text).total
        except UnusableSearch:
            return -1

    pks = list(Point.objects.order_by("?").values_list("pk", flat=True)[:runs])

    def floor(pk: int) -> int:
        return 1 if Point.objects.filter(pk=pk).values("account_number").first() else 0

    client = Client()
    client.force_login(clerk)

    def page(text: str) -> int:
        response = client.get("/search/", {"q": text})
        assert response.status_code == 200, (text, response.status_code)
        return 1

    for text in ["1702000001", "城南街道"]:  # warm the caches and the connection
        search(text)
        page(text)
    results = {"floor: one point by primary key (ORM)": timed(floor, pks)}
    for name, texts in queries.items():
        results[name] = timed(search, texts)
        with CaptureQueriesContext(connection) as captured:
            search(texts[0])
        results[name]["queries"] = len(captured.captured_queries)
        results[name]["page"] = timed(page, texts)
    reset_queries()
    return results


def write(report: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    lines = [
        "# Search box, PostgreSQL",
        "",
        f"{report['points']:,} points, {report['when']}, {report['machine']}; build "
        f"{report['build_s']} s. Server time of the selector (and of the whole page through "
        "Django's test client), milliseconds, over "
        f"{report['runs']} different queries a kind, as a service-area clerk.",
        "",
        "| query | selector p50 | selector p95 | page p50 | page p95 | queries | matches (median) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in report["results"].items():
        page = row.get("page", {})
        lines.append(
            f"| {name} | {row['p50_ms']} | {row['p95_ms']} | {page.get('p50_ms', '—')} | "
            f"{page.get('p95_ms', '—')} | {row.get('queries', 1)} | {row['found_median']} |"
        )
    (RESULTS / "search.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    recreate_database(args.database_url)
    django_setup(args.database_url)
    started = time.perf_counter()
    built = build(args.points)
    build_s = round(time.perf_counter() - started, 1)
    print(f"built {built['points']:,} points in {build_s} s", file=sys.stderr)
    results = measure(built, args.runs)
    report = {
        "points": built["points"],
        "runs": args.runs,
        "build_s": build_s,
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "results": results,
    }
    write(report)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
