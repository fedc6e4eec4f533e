"""What every list export stands on: reading a list in batches in the page's order, and
workbooks of several sheets."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from refmeter.common.listing import export_queryset, in_batches, list_params
from refmeter.common.tables import Sheet, write_workbook
from refmeter.organisations.models import User
from tests.exports.helpers import FORMULA


class TestBatches:
    def test_a_list_is_read_a_batch_at_a_time_one_query_each(self, city):
        users = User.objects.order_by("username")

        with CaptureQueriesContext(connection) as queries:
            batches = [len(batch) for batch in in_batches(users, size=2)]

        assert batches == [2, 2, 1]  # the city's five users
        assert len(queries) == 3

    def test_the_export_keeps_the_pages_sort_across_batches(self, city):
        params = list_params({"sort": "-username"}, sort_keys=["username"], default_sort="username")

        names = [
            user.username
            for user in export_queryset(
                User.objects.all(), params, columns={"username": ("username",)}, batch_size=3
            )
        ]

        assert names == sorted(User.objects.values_list("username", flat=True), reverse=True)


class TestWorkbookOfSheets:
    def test_each_sheet_has_its_frozen_header_and_typed_cells(self):
        data = write_workbook(
            [
                Sheet(title="按客户", header=["客户", "电量"], rows=[[FORMULA, Decimal("1.50")]]),
                Sheet(title="按台区", header=["日期"], rows=iter([[dt.date(2026, 10, 1)]])),
            ]
        )

        first, second = load_workbook(io.BytesIO(data)).worksheets

        assert [first.title, second.title] == ["按客户", "按台区"]
        assert first.freeze_panes == second.freeze_panes == "A2"
        assert (first["A2"].value, first["A2"].data_type, first["A2"].quotePrefix) == (
            FORMULA, "s", True,
        )  # fmt: skip
        assert (first["B2"].value, first["B2"].number_format) == (1.5, "0.00")
        assert second["A2"].is_date and second["A2"].number_format == "yyyy-mm-dd"
