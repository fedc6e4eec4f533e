from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from refmeter.common.models import Job, JobStatus
from refmeter.common.spreadsheets import read_rows
from refmeter.registry.models import TransformerArea
from tests import factories
from tests.masterdata.helpers import AREA_HEADER, xlsx

AREAS = xlsx(AREA_HEADER, ("3310000077", "城南新村7#配", "3350101"))


def _upload(client, data: bytes, kind: str = "areas"):
    return client.post(
        reverse("masterdata:upload"),
        {"kind": kind, "file": SimpleUploadedFile("areas.xlsx", data)},
    )


@pytest.mark.django_db(transaction=True)
class TestUploadCheckThenConfirm:
    def test_an_upload_is_checked_first_and_loaded_only_once_confirmed(self, city, client):
        client.force_login(city.south_admin)

        checked = _upload(client, AREAS)
        factories.run_queued_tasks()
        check = Job.objects.get()
        page = client.get(reverse("jobs:detail", args=[check.pk])).content.decode()
        nothing_yet = TransformerArea.objects.filter(number="3310000077").exists()
        confirmed = client.post(reverse("masterdata:confirm", args=[check.pk]))
        factories.run_queued_tasks()
        again = client.post(reverse("masterdata:confirm", args=[check.pk]))

        assert checked.status_code == 302
        assert (check.status, check.result["masterdata"]["created"]) == (JobStatus.SUCCEEDED, 1)
        assert "新建：3310000077 城南新村7#配" in page
        assert "仅检查" in page
        assert nothing_yet is False
        assert confirmed.status_code == 302
        area = TransformerArea.objects.get(number="3310000077")
        assert (area.name, area.unit) == ("城南新村7#配", city.south)
        assert again.status_code == 409
        assert Job.objects.count() == 2

    def test_a_refused_file_lists_its_problems_and_cannot_be_confirmed(self, city, client):
        client.force_login(city.south_admin)
        bad = xlsx(AREA_HEADER, ("3310000078", "城北", "3350102"))

        _upload(client, bad)
        factories.run_queued_tasks()
        check = Job.objects.get()
        page = client.get(reverse("jobs:detail", args=[check.pk])).content.decode()
        confirmed = client.post(reverse("masterdata:confirm", args=[check.pk]))

        assert check.status == JobStatus.FAILED
        assert (
            "Sheet1 第 2 行 C 列（单位编码）：供电单位编码 3350102 不存在或不属于您的单位。" in page
        )
        assert confirmed.status_code == 409
        assert not TransformerArea.objects.filter(number="3310000078").exists()


class TestThePage:
    def test_a_clerk_is_refused_the_page_and_the_upload(self, city, client):
        client.force_login(city.south_clerk)

        page = client.get(reverse("masterdata:page"))
        upload = _upload(client, AREAS)

        assert (page.status_code, upload.status_code) == (403, 403)
        assert (
            "导入和导出主数据（供电单位、用户、客户、设备类型、电价、台区、接入点）须由系统管理员办理"
            in (upload.content.decode())
        )
        assert not Job.objects.exists()

    def test_the_page_lists_every_load_with_its_template(self, city, client):
        client.force_login(city.south_admin)

        page = client.get(reverse("masterdata:page")).content.decode()

        for title in (
            "供电单位",
            "用户",
            "客户",
            "基准设备类型",
            "电价",
            "台区",
            "接入点",
            "就近户号索引",
        ):
            assert title in page

    @pytest.mark.parametrize(
        ("kind", "header"),
        [
            ("units", ["编码", "名称", "上级编码", "层级", "户号前缀"]),
            ("access_points", ["接入点编号", "名称", "台区编号"]),
            ("nearby_index", ["就近户号/局号", "类型", "接入点编号", "接入点名称", "台区编号"]),
        ],
    )
    def test_a_template_holds_the_header_and_one_example_row(self, city, client, kind, header):
        client.force_login(city.south_admin)

        response = client.get(reverse("masterdata:template", args=[kind]))

        rows = read_rows(response.content)
        assert rows[0] == header
        assert len(rows) == 2

    def test_an_export_holds_only_the_administrators_units(self, city, client):
        client.force_login(city.south_admin)

        response = client.get(reverse("masterdata:export", args=["areas"]))

        assert read_rows(response.content)[1:] == [
            [city.south_area.number, city.south_area.name, "3350101"],
            [city.south_other_area.number, city.south_other_area.name, "3350101"],
        ]

    def test_an_unknown_kind_is_404(self, city, client):
        client.force_login(city.south_admin)

        assert client.get("/masterdata/meters/template.xlsx").status_code == 404
