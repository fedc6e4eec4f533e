from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from refmeter.registry.models import TransformerArea
from tests.masterdata.helpers import AREA_HEADER, xlsx


class TestLoadCommand:
    def test_json_reports_the_counts_and_a_dry_run_writes_nothing(self, city, tmp_path):
        path = tmp_path / "areas.xlsx"
        path.write_bytes(xlsx(AREA_HEADER, ("3310000088", "城南8#配", "3350101")))
        output = io.StringIO()

        call_command("load_areas", str(path), "--dry-run", "--user", "south_admin",
                     "--format", "json", stdout=output, stderr=io.StringIO())  # fmt: skip

        result = json.loads(output.getvalue())
        assert (result["created"], result["dry_run"], result["file_name"]) == (
            1, True, "areas.xlsx",
        )  # fmt: skip
        assert result["examples"]["created"] == ["3310000088 城南8#配"]
        assert not TransformerArea.objects.filter(number="3310000088").exists()

    def test_a_refused_file_prints_every_error_as_json_and_fails(self, city, tmp_path):
        path = tmp_path / "areas.xlsx"
        path.write_bytes(xlsx(AREA_HEADER, ("3310000088", "", "3350101")))
        output = io.StringIO()

        with pytest.raises(CommandError) as refused:
            call_command("load_areas", str(path), "--user", "south_admin", "--format", "json",
                         stdout=output, stderr=io.StringIO())  # fmt: skip

        assert json.loads(output.getvalue()) == {
            "errors": ["Sheet1 第 2 行 B 列（名称）：不能为空。"]
        }
        assert "未导入，共 1 个问题" in str(refused.value)

    def test_an_export_loads_back_unchanged(self, city, tmp_path):
        path = tmp_path / "access-points.csv"
        call_command("export_access_points", str(path), stdout=io.StringIO())
        output = io.StringIO()

        call_command("load_access_points", str(path), "--user", "admin", "--format", "json",
                     stdout=output, stderr=io.StringIO())  # fmt: skip

        result = json.loads(output.getvalue())
        assert (result["rows"], result["unchanged"], result["changed"]) == (3, 3, 0)


def test_the_dashed_command_exits_non_zero_on_a_missing_file(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "refmeter.cli", "load-units", str(tmp_path / "none.xlsx")],
        capture_output=True, text=True, check=False,
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PATH": ""},
    )  # fmt: skip

    assert completed.returncode == 1
    assert "无法读取" in completed.stderr
