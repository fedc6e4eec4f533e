"""A bill's per-point detail, written by the database from the bill and the points.

Each point active in the bill's stretch gets its days there and its share of the
reference energy, ``round(reference energy x its days / the bill's days, 0.01 kWh)``,
half up as ``energy()`` rounds. The share is worked in whole hundredths so that the
rounding is exact on SQLite as well (which has no decimal type): with ``c`` the
reference energy in hundredths, ``d`` the point's days and ``t`` the bill's days,
``(2·c·d + t) div (2·t)`` rounds ``c·d/t`` half up, and a negative ``c`` is rounded by its
size, away from zero on a tie as ROUND_HALF_UP does.
"""

from __future__ import annotations

from django.db import connection

from refmeter.billing.models import Bill, BillPoint, BillStatus
from refmeter.registry.models import Point, TransformerArea


def _days_and_hundredths() -> tuple[str, str]:
    if connection.vendor == "postgresql":
        days = (
            "LEAST(b.period_end, COALESCE(p.active_to_date, b.period_end))"
            " - GREATEST(b.period_start, p.active_from_date)"
        )
        hundredths = "CAST(b.reference_energy * 100 AS bigint)"
    else:
        days = (
            "CAST(julianday(MIN(b.period_end, COALESCE(p.active_to_date, b.period_end)))"
            " - julianday(MAX(b.period_start, p.active_from_date)) AS INTEGER)"
        )
        hundredths = "CAST(ROUND(b.reference_energy * 100) AS INTEGER)"
    return days, hundredths


def bill_detail_insert(*, run_id: int, first_group: int, last_group: int) -> int:
    """Write the detail of the run's issued bills of groups ``first_group`` to
    ``last_group``; the rows written. The caller has removed any detail they had."""
    days, hundredths = _days_and_hundredths()
    share = (
        "CASE WHEN c >= 0 THEN (2 * c * d + t) / (2 * t) ELSE -((2 * (-c) * d + t) / (2 * t)) END"
    )
    sql = f"""
        INSERT INTO {BillPoint._meta.db_table}
            (bill_id, account_number, name, area_number, active_days, energy)
        SELECT bill_id, account_number, name, area_number, d, ({share}) * 0.01
        FROM (
            SELECT b.id AS bill_id, p.account_number, p.name,
                   COALESCE(a.number, '') AS area_number,
                   {days} AS d, {hundredths} AS c, b.days AS t
            FROM {Bill._meta.db_table} b
            JOIN {Point._meta.db_table} p ON p.group_id = b.group_id
            LEFT JOIN {TransformerArea._meta.db_table} a ON a.id = p.area_id
            WHERE b.run_id = %s AND b.group_id BETWEEN %s AND %s AND b.status = %s
              AND p.active_from_date < b.period_end
              AND (p.active_to_date IS NULL OR p.active_to_date > b.period_start)
        ) AS detail
        WHERE d > 0
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [run_id, first_group, last_group, BillStatus.ISSUED])
        return int(cursor.rowcount)
