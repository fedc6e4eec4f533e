"""Stored uploads: an accepted one is kept for the retention period, then purged."""

from __future__ import annotations

import datetime as dt
import io
import json
import os

import pytest
from django.core.management import call_command
from django.urls import reverse

from refmeter.common.models import Job, JobStatus
from refmeter.common.uploads import uploads_purge
from refmeter.readings.models import MeterReading
from tests import factories

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored(storage, relative: str, *, age_days: float) -> None:
    path = storage / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    written_at = (NOW - dt.timedelta(days=age_days)).timestamp()
    os.utime(path, (written_at, written_at))


@pytest.mark.django_db(transaction=True)
class TestAnAcceptedUpload:
    def test_is_read_from_storage_as_it_goes_and_kept(self, client, city, storage):
        group = factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        text = (
            "电能表资产编号,冻结日期,正向有功总,反向有功总\n"
            f"{group.meter_asset_number},2026-11-01,1149.24,0\n"
        )
        upload = io.BytesIO(text.encode("gb18030"))
        upload.name = "readings.csv"
        client.force_login(city.south_admin)

        client.post(reverse("readings:import"), {"file": upload})
        factories.run_queued_tasks()

        job = Job.objects.get()
        assert (job.status, job.result["created"]) == (JobStatus.SUCCEEDED, 1)
        assert MeterReading.objects.count() == 1
        assert (storage / job.parameters["path"]).read_bytes() == text.encode("gb18030")


class TestPurge:
    def test_deletes_uploads_older_than_the_retention_and_keeps_the_rest(self, storage, settings):
        settings.REFMETER_UPLOAD_RETENTION_DAYS = 30
        stored(storage, "imports/2026/09/readings-old.csv", age_days=45)
        stored(storage, "imports/2026/10/stock-old.xlsx", age_days=31)
        stored(storage, "imports/2026/11/readings-new.csv", age_days=2)
        stored(storage, "archive/2026/01/contract.pdf", age_days=300)

        deleted = uploads_purge(now=NOW)

        assert deleted == ["imports/2026/09/readings-old.csv", "imports/2026/10/stock-old.xlsx"]
        assert sorted(
            str(path.relative_to(storage)) for path in storage.rglob("*") if path.is_file()
        ) == ["archive/2026/01/contract.pdf", "imports/2026/11/readings-new.csv"]

    def test_the_command_reports_what_it_deleted(self, storage):
        stored(storage, "imports/2026/01/readings-old.csv", age_days=400)
        output = io.StringIO()

        call_command("purge_uploads", "--days", "7", "--format", "json", stdout=output)

        assert json.loads(output.getvalue()) == {
            "deleted": ["imports/2026/01/readings-old.csv"],
            "days": 7,
        }

    def test_with_no_uploads_yet_deletes_nothing(self, storage):
        output = io.StringIO()

        call_command("purge_uploads", stdout=output)

        assert output.getvalue().strip() == "已删除超过 30 天的上传文件 0 个。"
