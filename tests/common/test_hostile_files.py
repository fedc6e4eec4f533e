"""No upload can take a process down: every hostile file, against every importer.

Each file is made in the test run (tests/common/hostile.py). Each importer - page,
background job, command line - must refuse it with a clear Chinese message, write
nothing, and for the background path leave the job failed and the upload deleted.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.urls import reverse

from refmeter.common.models import Job, JobStatus
from refmeter.common.spreadsheets import UnreadableSpreadsheet, open_sheets
from refmeter.organisations.services import api_token_create
from refmeter.readings.models import MeterReading
from refmeter.readings.services import readings_import, rows_from_file
from refmeter.workorders import services as orders
from tests import factories
from tests.common import hostile

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 20)

BOMB = "文件解压后异常巨大（疑似压缩炸弹），已拒绝。请检查文件来源。"
LYING = (
    "文件内部记录的大小与实际内容不符（疑似恶意构造），已拒绝：请在 Excel 或 WPS 中另存后重新上传。"
)
PASSWORD = "文件设置了打开密码：请取消密码后重新上传。"
XXE = "文件含有 XML 文档类型或实体声明（可用于读取服务器上的文件），已拒绝：请在 Excel 或 WPS 中另存后重新上传。"
FORMULA = "表格中含有公式：请将公式单元格复制后“选择性粘贴为数值”，再上传。"
UNSAFE_NAME = "文件内部含有不安全的路径“../../../../tmp/refmeter-evil.xml”，已拒绝。"
NOT_A_SPREADSHEET = "无法识别的文件：请上传 Excel（.xlsx、.xls）或 OpenDocument（.ods）电子表格。"
ENCODING = "无法识别文件的文字编码：请将 CSV 另存为 UTF-8 或 GB18030（GBK）编码后重新上传。"
NUL = (
    "文件含有空字符（可能是不带签名的 UTF-16 或二进制文件）：请将 CSV 另存为 UTF-8 编码后重新上传。"
)
MIXED = "第 3002 行含有无法按 UTF-8 解码的字符：文件的编码前后不一，请将 CSV 另存为 UTF-8 编码后重新上传。"
CONTENT = "工作表内容过多（读入需要超过 160 MB 内存），已拒绝；请拆分后分批导入。"
UNKNOWN_METER = "第 2 行 A 列（电能表资产编号）：电能表 9999999999 不是任何群组的参考表。"
NO_HEADER = "未找到表头：需要“电能表资产编号、冻结日期、正向有功总、反向有功总”四列。"


def rows_message(limit: int) -> str:
    return f"工作表超过 {limit} 行，已拒绝；请拆分后分批导入。"


def columns_message() -> str:
    return "工作表超过 1000 列，已拒绝：请只保留需要导入的列。"


def cells_message(rows: int, columns: int) -> str:
    return (
        f"工作表过大（{rows} 行 × {columns} 列），超过一次导入 2000000 个单元格的上限；"
        "请拆分后分批导入。"
    )


# ---------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Hostile:
    key: str
    file_name: str
    make: Callable[[], bytes]
    # The refusal every importer gives; a callable gets the importer's row limit.
    message: str | Callable[[int], str]
    # For CSV files: what the readings import says (spreadsheet importers say NOT_A_SPREADSHEET).
    readings_message: str | None = None


CORPUS = [
    Hostile("zip_bomb", "bomb.xlsx", hostile.zip_bomb, BOMB),
    Hostile("lying_sizes", "lying.xlsx", hostile.lying_sizes, LYING),
    Hostile("dimension_bomb", "dimension.xlsx", hostile.dimension_bomb, rows_message),
    Hostile("declared_dimension", "declared.xlsx", hostile.declared_dimension_bomb, rows_message),
    Hostile("wide_sheet", "wide.xlsx", hostile.wide_sheet, columns_message()),
    Hostile(
        "xls_dimension_bomb", "list.xls", hostile.xls_dimension_bomb, cells_message(65536, 256)
    ),
    Hostile("ods_repeat_bomb", "list.ods", hostile.ods_repeat_bomb, columns_message()),
    Hostile("shared_strings", "strings.xlsx", hostile.shared_string_amplifier, CONTENT),
    Hostile("encrypted_ooxml", "locked.xlsx", hostile.encrypted_ooxml, PASSWORD),
    Hostile("encrypted_member", "locked.xlsx", hostile.encrypted_member, PASSWORD),
    Hostile("encrypted_xls", "locked.xls", hostile.xls_with_password, PASSWORD),
    Hostile("xxe", "xxe.xlsx", hostile.xxe, XXE),
    Hostile("formula_in_any_part", "formula.xlsx", hostile.formula_in_renamed_part, FORMULA),
    Hostile("path_traversal", "names.xlsx", hostile.path_traversal, UNSAFE_NAME),
    Hostile("utf16_csv", "readings.csv", hostile.utf16_csv, NOT_A_SPREADSHEET, UNKNOWN_METER),
    Hostile("utf16_no_bom", "readings.csv", hostile.utf16_csv_without_bom, NOT_A_SPREADSHEET, NUL),
    Hostile("mojibake_csv", "readings.csv", hostile.mojibake_csv, NOT_A_SPREADSHEET, ENCODING),
    Hostile(
        "mojibake_utf8", "readings.csv", hostile.mojibake_utf8_csv, NOT_A_SPREADSHEET, NO_HEADER
    ),
    Hostile("mixed_csv", "readings.csv", hostile.mixed_encoding_csv, NOT_A_SPREADSHEET, MIXED),
]
_made: dict[str, bytes] = {}


def made(case: Hostile) -> bytes:
    if case.key not in _made:
        _made[case.key] = case.make()
    return _made[case.key]


@pytest.fixture(scope="session")
def million_rows(tmp_path_factory) -> bytes:
    return hostile.million_rows(tmp_path_factory.mktemp("hostile") / "rows.xlsx").read_bytes()


def expected(case: Hostile, importer: Importer) -> str:
    if importer.reads_csv and case.readings_message:
        return case.readings_message
    if callable(case.message):
        return case.message(importer.max_rows)
    return case.message


# ---------------------------------------------------------------- the importers


def written() -> dict[str, int]:
    """Rows of every refmeter table but the jobs': a refused import changes none of them."""
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model.__module__.startswith("refmeter.") and model is not Job
    }


def stored_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def _page_messages(response) -> list[str]:
    found = re.findall(
        r'<p class="message error" role="alert">(.*?)</p>', response.content.decode()
    )
    return [html.unescape(text) for text in found]


def _job_refusal(client, response) -> list[str]:
    """A background import: the page answers at once, the worker refuses, the job says why."""
    if response.status_code == 400:
        return [response.context["message"]]
    factories.run_queued_tasks()
    job = Job.objects.get()
    assert (job.status, job.message) == (JobStatus.FAILED, "未导入：发现 1 个问题")
    return list(job.errors)


@dataclass(frozen=True)
class Importer:
    key: str
    max_rows: int
    reads_csv: bool
    background: bool
    run: Callable[..., list[str]]


def _upload(data: bytes, name: str) -> io.BytesIO:
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def readings_page(env, data, name):
    response = env.client.post(reverse("readings:import"), {"file": _upload(data, name)})
    return _job_refusal(env.client, response)


def readings_cli(env, data, name):
    path = env.tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CommandError) as refusal:
        call_command("import_readings", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    text = str(refusal.value)
    assert text.startswith("未导入，问题如下：\n")
    return text.removeprefix("未导入，问题如下：\n").splitlines()


def stock_page(env, data, name):
    response = env.client.post(reverse("spreadsheets:stock_upload"), {"file": _upload(data, name)})
    return _job_refusal(env.client, response)


def stock_cli(env, data, name):
    path = env.tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CommandError) as refusal:
        call_command(
            "import_stock",
            str(path),
            "--user",
            env.user.username,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    text = str(refusal.value)
    assert text.startswith("未导入，共 1 个问题：\n")
    return text.split("\n", 1)[1].splitlines()


def check_list_cli(env, data, name):
    path = env.tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CommandError) as refusal:
        call_command("check_list", str(path), stdout=io.StringIO())
    return [str(refusal.value)]


def nearby_index_cli(env, data, name):
    path = env.tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CommandError) as refusal:
        call_command(
            "load_nearby_index", str(path), "--user", env.user.username, stdout=io.StringIO()
        )
    return [str(refusal.value)]


def application_list_page(env, data, name):
    response = env.client.post(
        reverse("workorders:lines_import", args=[env.order.pk]),
        {"file": _upload(data, name)},
        follow=True,
    )
    return _page_messages(response)


def installation_dates_page(env, data, name):
    response = env.client.post(
        reverse("workorders:installation", args=[env.order.pk]),
        {"file": _upload(data, name)},
        follow=True,
    )
    return _page_messages(response)


def lineloss_page(env, data, name):
    response = env.client.post(
        reverse("lineloss:report") + "?period=2026-10",
        {"file": _upload(data, name), "period": "2026-10"},
        follow=True,
    )
    if response.status_code == 400:  # refused: the problems on the report page
        return list(response.context["upload_problems"])
    return _page_messages(response)


IMPORTERS = [
    Importer("readings_page", 500_000, True, True, readings_page),
    Importer("readings_cli", 500_000, True, False, readings_cli),
    Importer("stock_page", 300_000, False, True, stock_page),
    Importer("stock_cli", 300_000, False, False, stock_cli),
    Importer("check_list_cli", 200_000, False, False, check_list_cli),
    Importer("nearby_index_cli", 200_000, False, False, nearby_index_cli),
    Importer("application_list_page", 200_000, False, False, application_list_page),
    Importer("installation_dates_page", 200_000, False, False, installation_dates_page),
    Importer("lineloss_page", 200_000, False, False, lineloss_page),
]


@dataclass
class Env:
    client: object
    user: object
    order: object
    tmp_path: Path
    storage: Path


@pytest.fixture
def env(client, city, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    (tmp_path / "files").mkdir()
    admin = city.south_admin
    factories.group(actor=admin, unit=city.south, place=city.south_place)
    customer = factories.customer(actor=admin, unit=city.south)
    device = factories.device_type(actor=admin, name="楼道EPON设备")
    order = orders.order_new_install_start(
        actor=admin,
        customer_id=customer.pk,
        device_type_id=device.pk,
        application=orders.Application(),
        now=NOW,
    )
    client.force_login(admin)
    return Env(client, admin, order, tmp_path, tmp_path / "files")


def _refused_by(importer: Importer, env: Env, data: bytes, name: str) -> list[str]:
    before = written()

    messages = importer.run(env, data, name)

    assert written() == before
    assert stored_files(env.storage) == []
    return messages


@pytest.mark.django_db(transaction=True)
class TestEveryImporterRefusesEveryHostileFile:
    @pytest.mark.parametrize("importer", IMPORTERS, ids=lambda importer: importer.key)
    @pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.key)
    def test_with_a_clear_message_and_nothing_written(self, env, case, importer):
        messages = _refused_by(importer, env, made(case), case.file_name)

        assert messages == [expected(case, importer)]

    @pytest.mark.parametrize("importer", IMPORTERS, ids=lambda importer: importer.key)
    def test_a_sheet_of_1048576_rows(self, env, importer, million_rows):
        messages = _refused_by(importer, env, million_rows, "rows.xlsx")

        assert messages == [rows_message(importer.max_rows)]

    @pytest.mark.parametrize("importer", IMPORTERS, ids=lambda importer: importer.key)
    def test_a_file_over_the_size_limit(self, env, importer, settings):
        settings.REFMETER_UPLOAD_MAX_MB = 1
        settings.REFMETER_SPREADSHEET_MAX_MB = 1
        data = hostile.application_list_xlsx() + b"\0" * (1024 * 1024)

        messages = _refused_by(importer, env, data, "big.xlsx")

        assert messages == ["文件超过 1 MB，请拆分后再导入。"]


# ---------------------------------------------------------------- the shared reader


class TestTheReader:
    @pytest.mark.parametrize(
        "part",
        [
            "[Content_Types].xml",
            "xl/workbook.xml",
            "xl/worksheets/sheet1.xml",
            "xl/sharedStrings.xml",
            "docProps/custom.xml",
        ],
    )
    def test_refuses_a_doctype_in_any_xml_part(self, part):
        with pytest.raises(UnreadableSpreadsheet) as refusal:
            open_sheets(hostile.xxe(part))

        assert str(refusal.value) == XXE

    def test_refuses_a_formula_written_with_a_namespace_prefix(self):
        rows = '<x:row r="1"><x:c r="A1"><x:f>1+1</x:f><x:v>2</x:v></x:c></x:row>'

        with pytest.raises(UnreadableSpreadsheet) as refusal:
            open_sheets(hostile.xlsx(hostile.sheet_xml(rows, prefix="x")))

        assert str(refusal.value) == FORMULA

    def test_refuses_a_member_with_an_absolute_path(self):
        data = hostile.raw_zip([*hostile.skeleton(), hostile.member("/etc/cron.d/x.xml", "<x/>")])

        with pytest.raises(UnreadableSpreadsheet) as refusal:
            open_sheets(data)

        assert str(refusal.value) == "文件内部含有不安全的路径“/etc/cron.d/x.xml”，已拒绝。"

    def test_refuses_two_members_of_the_same_name(self):
        data = hostile.raw_zip([*hostile.skeleton(), hostile.skeleton()[-1]])

        with pytest.raises(UnreadableSpreadsheet) as refusal:
            open_sheets(data)

        assert str(refusal.value) == ("文件内部有两个同名条目“xl/worksheets/sheet1.xml”，已拒绝。")

    def test_refuses_a_package_of_too_many_members(self):
        fillers = [hostile.member(f"customXml/item{n}.xml", "<x/>") for n in range(10_001)]

        with pytest.raises(UnreadableSpreadsheet) as refusal:
            open_sheets(hostile.raw_zip([*hostile.skeleton(), *fillers]))

        assert str(refusal.value) == "文件内部条目过多（超过 10000 个），不像电子表格，已拒绝。"

    def test_refuses_a_member_smaller_than_its_directory_says(self):
        members = hostile.skeleton()
        members[-1].size += 10

        with pytest.raises(UnreadableSpreadsheet) as refusal:
            open_sheets(hostile.raw_zip(members))

        assert str(refusal.value) == LYING

    def test_refuses_in_bounded_memory_a_sheet_far_over_the_limits(self, million_rows):
        tracemalloc.start()

        with pytest.raises(UnreadableSpreadsheet):
            open_sheets(million_rows)

        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 20 * 1024 * 1024

    def test_reads_a_file_from_a_path_or_an_open_file_as_from_bytes(self, tmp_path):
        data = hostile.application_list_xlsx()
        path = tmp_path / "list.xlsx"
        path.write_bytes(data)

        with path.open("rb") as stream:
            from_stream = open_sheets(stream)
        from_path = open_sheets(path)

        assert from_path == from_stream == open_sheets(data)
        assert from_path[0].rows == [hostile.HEADER, ["1", "甲", "1幢", "1701636729", "新增"]]

    def test_still_reads_every_fixture_the_customers_send(self):
        for name in (
            "application_list_wps_style.xlsx",
            "application_list_libreoffice.xlsx",
            "application_list_legacy.xls",
            "application_list.ods",
        ):
            rows = open_sheets((hostile.FIXTURES / name).read_bytes())[0].rows

            assert any("城南新村56幢电信车库" in row for row in rows), name


class TestCsv:
    @pytest.fixture
    def meter(self, city):
        return factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)

    def _import(self, city, data: bytes):
        return readings_import(
            actor=city.south_admin,
            rows=rows_from_file(data, "readings.csv"),
            file_name="readings.csv",
            today=TODAY,
            now=NOW,
        )

    @pytest.mark.parametrize(
        ("encoding", "separator"),
        [("utf-8", ","), ("utf-8-sig", ","), ("gb18030", ","), ("utf-16", ","), ("utf-16", "\t")],
    )
    def test_every_encoding_chinese_systems_and_excel_write_goes_in(
        self, city, meter, encoding, separator
    ):
        text = (
            hostile.READINGS_HEADER + f"{meter.meter_asset_number},2026-11-01,1149.24,0\n"
        ).replace(",", separator)

        result = self._import(city, text.encode(encoding))

        assert (result.rows, result.created) == (1, 1)
        assert MeterReading.objects.get().forward_total == Decimal("1149.24")

    def test_a_csv_is_read_a_line_at_a_time_never_whole(self):
        data = (hostile.READINGS_HEADER + "1702017329,2026-11-01,1149.24,0\n" * 400_000).encode()
        tracemalloc.start()

        count = sum(1 for _row in rows_from_file(data, "readings.csv"))

        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count == 400_001
        assert len(data) > 12_000_000
        assert peak < 2 * 1024 * 1024

    def test_a_line_longer_than_any_reading_is_refused(self):
        data = hostile.READINGS_HEADER.encode() + b"1" * 200_000 + b"\n"

        with pytest.raises(UnreadableSpreadsheet) as refusal:
            list(rows_from_file(data, "readings.csv"))

        assert str(refusal.value) == (
            "第 2 行超过 100000 个字符，已拒绝：请检查文件是否为逐行的 CSV 数据。"
        )

    def test_a_quote_left_open_over_many_lines_is_refused(self):
        data = (
            hostile.READINGS_HEADER + '"1702017329,2026-11-01,1,0\n' + "1,2,3\n" * 30_000
        ).encode()

        with pytest.raises(UnreadableSpreadsheet) as refusal:
            list(rows_from_file(data, "readings.csv"))

        assert str(refusal.value) == "CSV 格式错误（第 21844 行附近）：请检查引号是否成对。"


# ---------------------------------------------------------------- the API


class TestTheReadingsApi:
    @pytest.fixture
    def headers(self, city):
        token = api_token_create(user=city.south_admin, name="采集系统", now=NOW)
        return {"Authorization": f"Bearer {token}"}

    def test_a_body_over_the_limit_is_refused_in_chinese(self, client, city, headers, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
        reading = {
            "meter_asset_number": "9999999999",
            "reading_date": "2026-11-01",
            "forward_total": "1",
            "reverse_total": "0",
        }
        body = json.dumps({"readings": [reading] * 20_000})
        before = written()

        response = client.post(
            "/api/v1/readings", data=body, content_type="application/json", headers=headers
        )

        assert response.status_code == 413
        assert response.json() == {
            "detail": "请求内容超过 1 MB，已拒绝：请分批提交（每批不超过 1 MB）。"
        }
        assert written() == before

    @pytest.mark.parametrize(
        "body",
        [
            "[" * 100_000 + "]" * 100_000,
            '{"readings": []}'.encode("utf-16"),
            b"PK\x03\x04" + b"\0" * 100,
        ],
        ids=["deeply_nested", "utf16", "binary"],
    )
    def test_a_body_that_is_not_json_is_refused_in_chinese(self, client, city, headers, body):
        before = written()

        response = client.post(
            "/api/v1/readings", data=body, content_type="application/json", headers=headers
        )

        assert response.status_code == 400
        assert response.json() == {"detail": "请求内容不是有效的 UTF-8 编码 JSON，已拒绝。"}
        assert written() == before
