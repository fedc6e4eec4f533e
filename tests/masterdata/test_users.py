"""The users load: new users inactive until they set a password through their one-time
link, reloads that change only what changed, every problem by sheet, row and column,
and no user of another unit, no superuser, no administrator locking themselves out."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from refmeter.audit.models import AuditEntry
from refmeter.common.models import Job, JobStatus
from refmeter.common.spreadsheets import read_rows
from refmeter.masterdata.services import UnableToLoadMasterData, load_file
from refmeter.organisations.models import Role, User
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.organisations.services.users import user_password_reset
from refmeter.organisations.tokens import activation_tokens
from tests import factories
from tests.masterdata.helpers import USER_HEADER, csv_bytes, superuser, xlsx

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
# 工号 and 手机 as numbers, as a spreadsheet typed by hand holds them.
NEW = xlsx(
    USER_HEADER,
    (3350101001, "张伟", "3350101", "电费人员", 13905751234),
    ("3350101002", "李娜", "3350101", "受理员", ""),
)
GOOD_PASSWORD = {"new_password1": "a-long-secret-77", "new_password2": "a-long-secret-77"}


def load(data, *, actor, dry_run=False, file_name="users.xlsx"):
    return load_file(
        kind="users", actor=actor, data=data, file_name=file_name, now=NOW, dry_run=dry_run
    )


def refused(data, *, actor) -> list[str]:
    with pytest.raises(UnableToLoadMasterData) as refusal:
        load(data, actor=actor)
    return refusal.value.problems


class TestNewUsers:
    def test_rows_become_inactive_users_with_their_unit_role_and_phone(self, city):
        result = load(NEW, actor=city.south_admin)

        zhang = User.objects.get(username="3350101001")
        li = User.objects.get(username="3350101002")
        assert (zhang.first_name, zhang.unit, zhang.role, zhang.phone) == (
            "张伟", city.south, Role.BILLING, "13905751234",
        )  # fmt: skip
        assert (li.role, li.phone) == (Role.CLERK, "")
        for user in (zhang, li):
            assert not user.is_active
            assert not user.has_usable_password()
            assert not (user.is_superuser or user.is_staff)
        assert result.created == ["3350101001 张伟（3350101 电费人员）",
                                  "3350101002 李娜（3350101 受理员）"]  # fmt: skip
        assert [link["username"] for link in result.links] == ["3350101001", "3350101002"]
        assert all(link["path"].startswith("/users/activate/") for link in result.links)

    def test_each_new_user_is_audited_with_the_files_name_and_sha256(self, city):
        load(NEW, actor=city.south_admin)

        entries = AuditEntry.objects.filter(action="user.create", occurred_at=NOW)
        zhang = entries.get(subject_label="3350101001")
        assert entries.count() == 2
        assert zhang.subject_id == User.objects.get(username="3350101001").pk
        assert zhang.after == {"unit": "3350101", "role": "billing", "name": "张伟",
                               "phone": "13905751234", "is_active": False}  # fmt: skip
        assert zhang.actor_id == city.south_admin.pk
        assert zhang.reason == f"用户导入：users.xlsx（SHA-256 {hashlib.sha256(NEW).hexdigest()}）"

    def test_a_dry_run_says_what_it_would_create_and_writes_nothing(self, city):
        users, entries = User.objects.count(), AuditEntry.objects.count()

        result = load(NEW, actor=city.south_admin, dry_run=True)

        assert (len(result.created), result.dry_run, result.links) == (2, True, [])
        assert (User.objects.count(), AuditEntry.objects.count()) == (users, entries)

    def test_a_gb18030_csv_loads_too(self, city):
        data = csv_bytes(USER_HEADER, ("zhou.min", "周敏", "3350101", "勘察员", "138-0575-1001"),
                         encoding="gb18030")  # fmt: skip

        load(data, actor=city.south_admin, file_name="users.csv")

        assert User.objects.get(username="zhou.min").phone == "138-0575-1001"

    def test_even_a_superuser_never_loads_a_superuser(self, city):
        root = superuser()

        load(xlsx(USER_HEADER, ("boss", "老板", "33501", "系统管理员", "")), actor=root)

        boss = User.objects.get(username="boss")
        assert (boss.role, boss.is_superuser, boss.is_staff, boss.is_active) == (
            Role.ADMINISTRATOR, False, False, False,
        )  # fmt: skip


class TestReloads:
    def test_the_same_file_twice_changes_nothing_and_audits_nothing(self, city):
        load(NEW, actor=city.south_admin)
        entries = AuditEntry.objects.count()

        again = load(NEW, actor=city.south_admin)

        assert (again.created, again.changed, again.unchanged, again.links) == ([], [], 2, [])
        assert AuditEntry.objects.count() == entries

    def test_a_changed_name_role_phone_and_unit_is_a_change_audited_old_to_new(self, city):
        load(NEW, actor=city.admin)
        changed = xlsx(
            USER_HEADER,
            ("3350101001", "张伟", "3350102", "电费人员", "13905751234"),
            ("3350101002", "李娜娜", "3350101", "勘察员", "13805751001"),
        )

        dry = load(changed, actor=city.admin, dry_run=True)
        unchanged_yet = User.objects.get(username="3350101002").role
        result = load(changed, actor=city.admin, file_name="users-2.xlsx")

        assert (
            dry.changed
            == result.changed
            == [
                "3350101001 张伟：单位编码：3350101 → 3350102",
                "3350101002 李娜：姓名：李娜 → 李娜娜，角色：受理员 → 勘察员，手机：— → 13805751001",
            ]
        )
        assert unchanged_yet == Role.CLERK
        li = User.objects.get(username="3350101002")
        assert (li.first_name, li.role, li.phone) == ("李娜娜", Role.SURVEYOR, "13805751001")
        assert User.objects.get(username="3350101001").unit == city.north
        entry = AuditEntry.objects.get(action="user.update", subject_label="3350101002")
        assert entry.before == {"name": "李娜", "role": "clerk", "phone": ""}
        assert entry.after == {"name": "李娜娜", "role": "surveyor", "phone": "13805751001"}
        assert entry.reason == (
            f"用户导入：users-2.xlsx（SHA-256 {hashlib.sha256(changed).hexdigest()}）"
        )

    def test_users_absent_from_the_file_are_left_alone_and_the_dry_run_says_so(self, city):
        result = load(NEW, actor=city.south_admin, dry_run=True)

        assert result.notes == [
            "您的单位及下属单位另有 2 个用户不在文件中：导入不停用、不修改他们。"
        ]
        city.south_clerk.refresh_from_db()
        assert city.south_clerk.is_active


class TestProblems:
    def test_every_problem_is_named_by_sheet_row_and_column_and_nothing_is_written(self, city):
        bad = xlsx(
            USER_HEADER,
            ("3350101001", "张伟", "3350101", "电费人员", "1390575123"),
            ("3350101001", "张伟", "3350101", "电费人员", ""),
            ("3350101003", "", "3350101", "受理员", ""),
            ("3350101004", "王芳", "3350101", "抄表员", ""),
            ("3350102001", "赵磊", "3350102", "受理员", ""),
            ("3350101005", "钱进", "3350101", "系统管理员", ""),
            ("", "孙丽", "3350101", "受理员", ""),
            ("3350101006", "吴强", "", "", ""),
            sheet="用户",
        )
        users = User.objects.count()

        problems = refused(bad, actor=city.south_admin)

        assert problems == [
            "用户 第 2 行 E 列（手机）：手机号码应为 11 位，以 13–19 开头，例如 13812345678。",
            "用户 第 3 行 A 列（工号）：工号 3350101001 重复（已在第 2 行）。",
            "用户 第 4 行 B 列（姓名）：不能为空。",
            "用户 第 5 行 D 列（角色）：岗位角色“抄表员”不存在，应为以下之一：受理员、勘察员、"
            "客户经理、装接/用电检查人员、采集运维人员、电费人员、管理人员、系统管理员。",
            "用户 第 6 行 C 列（单位编码）：供电单位编码 3350102 不存在或不属于您的单位。",
            "用户 第 7 行 D 列（角色）：您不能在单位3350101授予“系统管理员”岗位：只能在本单位及"
            "下属单位授权，系统管理员只能授予下属单位。",
            "用户 第 8 行 A 列（工号）：不能为空。",
            "用户 第 9 行 C 列（单位编码）：不能为空。",
            "用户 第 9 行 D 列（角色）：不能为空。",
        ]
        assert User.objects.count() == users
        assert not AuditEntry.objects.filter(action="user.create", occurred_at=NOW).exists()

    def test_a_header_without_the_role_column_is_refused(self, city):
        problems = refused(xlsx(("工号", "姓名", "单位编码"), ("a", "b", "3350101")),
                           actor=city.south_admin)  # fmt: skip

        assert problems == [
            "“Sheet1”不是用户表：找不到含有这些列的表头：工号、姓名、单位编码、角色。"
        ]


class TestScoping:
    def test_only_an_administrator_may_load_users(self, city):
        with pytest.raises(ActionNotAllowed):
            load(NEW, actor=city.south_clerk)
        assert not User.objects.filter(username="3350101001").exists()

    def test_a_user_of_another_unit_is_not_taken_over(self, city):
        rows = xlsx(USER_HEADER, ("north_clerk", "测试受理员", "3350101", "受理员", ""))

        problems = refused(rows, actor=city.south_admin)

        assert problems == [
            "Sheet1 第 2 行 A 列（工号）：工号 north_clerk 已是其他单位的用户，不能通过导入修改。"
        ]
        assert User.objects.get(username="north_clerk").unit == city.north

    def test_an_administrator_cannot_change_their_own_role_nor_a_peers(self, city):
        peer = factories.user(unit=city.south, username="south_admin_2")
        rows = xlsx(
            USER_HEADER,
            ("south_admin", "测试系统管理员", "3350101", "受理员", ""),
            (peer.username, "改名", "3350101", "系统管理员", ""),
        )

        problems = refused(rows, actor=city.south_admin)

        assert problems == [
            "Sheet1 第 2 行 A 列（工号）：您不能管理用户 south_admin：不能修改自己、超级用户，"
            "或与您同级及上级单位的系统管理员。",
            "Sheet1 第 3 行 A 列（工号）：您不能管理用户 south_admin_2：不能修改自己、超级用户，"
            "或与您同级及上级单位的系统管理员。",
        ]
        assert User.objects.get(username="south_admin").role == Role.ADMINISTRATOR

    def test_their_own_unchanged_row_is_fine(self, city):
        rows = xlsx(USER_HEADER, ("south_admin", "测试系统管理员", "3350101", "系统管理员", ""))

        assert load(rows, actor=city.south_admin).unchanged == 1

    def test_the_company_administrator_makes_a_service_area_administrator(self, city):
        rows = xlsx(USER_HEADER, ("south_admin_3", "周强", "3350101", "系统管理员", ""))

        load(rows, actor=city.admin)

        assert User.objects.get(username="south_admin_3").role == Role.ADMINISTRATOR


class TestSwitchingOn:
    def test_the_link_sets_the_first_password_once_and_activates(self, city):
        link = load(NEW, actor=city.south_admin).links[0]["path"]
        client = Client()

        page = client.get(link)
        weak = client.post(link, {"new_password1": "123", "new_password2": "123"})
        done = client.post(link, GOOD_PASSWORD)
        again = client.get(link)

        zhang = User.objects.get(username="3350101001")
        assert page.status_code == 200
        assert weak.status_code == 400
        assert done.status_code == 302
        assert zhang.is_active and zhang.check_password("a-long-secret-77")
        assert again.status_code == 400
        assert "链接无效或已过期" in again.content.decode()

    def test_the_link_expires(self, city, monkeypatch):
        link = load(NEW, actor=city.south_admin).links[0]["path"]
        later = dt.datetime.now() + dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
        monkeypatch.setattr(activation_tokens, "_now", lambda: later)

        answer = Client().post(link, GOOD_PASSWORD)

        assert answer.status_code == 400
        assert not User.objects.get(username="3350101001").is_active

    def test_an_administrator_setting_a_password_activates_too(self, city):
        load(NEW, actor=city.south_admin)
        zhang = User.objects.get(username="3350101001")

        password = user_password_reset(actor=city.south_admin, user_id=zhang.pk, confirmed=True,
                                       now=NOW)  # fmt: skip

        zhang.refresh_from_db()
        assert zhang.is_active and zhang.must_change_password
        assert zhang.check_password(password)


class TestCommands:
    def test_json_gives_the_counts_and_each_new_users_link(self, city, tmp_path):
        path = tmp_path / "users.xlsx"
        path.write_bytes(NEW)
        output = io.StringIO()

        call_command("load_users", str(path), "--user", "south_admin", "--format", "json",
                     stdout=output, stderr=io.StringIO())  # fmt: skip

        result = json.loads(output.getvalue())
        assert (result["kind"], result["created"], result["changed"]) == ("users", 2, 0)
        base = settings.REFMETER_LABEL_BASE_URL.rstrip("/")
        assert [link["url"][: len(base) + 16] for link in result["links"]] == [
            f"{base}/users/activate/"
        ] * 2
        assert result["links"][0]["url"] == base + result["links"][0]["path"]
        activated = Client().post(result["links"][1]["path"], GOOD_PASSWORD)
        assert activated.status_code == 302
        assert User.objects.get(username="3350101002").is_active

    def test_the_text_output_prints_the_links(self, city, tmp_path):
        path = tmp_path / "users.xlsx"
        path.write_bytes(NEW)
        output = io.StringIO()

        call_command("load_users", str(path), "--user", "south_admin", stdout=output,
                     stderr=io.StringIO())  # fmt: skip

        lines = output.getvalue().splitlines()
        assert lines[0] == "users.xlsx：共 2 行；新建 2，修改 0，未变 0，截止 0。"
        assert lines[1].startswith("您的单位及下属单位另有 2 个用户不在文件中")
        assert lines[2].startswith("设置密码链接（一次有效）3350101001 张伟：http")

    def test_a_refused_file_prints_every_error_as_json_and_fails(self, city, tmp_path):
        path = tmp_path / "users.xlsx"
        path.write_bytes(xlsx(USER_HEADER, ("x1", "某人", "3350101", "抄表员", "")))
        output = io.StringIO()

        with pytest.raises(CommandError) as refusal:
            call_command("load_users", str(path), "--user", "south_admin", "--format", "json",
                         stdout=output, stderr=io.StringIO())  # fmt: skip

        errors = json.loads(output.getvalue())["errors"]
        assert len(errors) == 1
        assert errors[0].startswith("Sheet1 第 2 行 D 列（角色）：岗位角色“抄表员”不存在")
        assert "未导入，共 1 个问题" in str(refusal.value)
        assert not User.objects.filter(username="x1").exists()

    def test_a_clerk_is_refused_by_the_command(self, city, tmp_path):
        path = tmp_path / "users.xlsx"
        path.write_bytes(NEW)

        with pytest.raises(CommandError):
            call_command("load_users", str(path), "--user", "south_clerk", stdout=io.StringIO(),
                         stderr=io.StringIO())  # fmt: skip

    def test_an_export_loads_back_unchanged(self, city, tmp_path):
        path = tmp_path / "users.xlsx"
        call_command("export_users", str(path), "--user", "south_admin", stdout=io.StringIO())
        sheet = load_workbook(path).active
        output = io.StringIO()

        call_command("load_users", str(path), "--user", "south_admin", "--format", "json",
                     stdout=output, stderr=io.StringIO())  # fmt: skip

        assert sheet.title == "用户"
        assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
            ["工号", "姓名", "单位编码", "角色", "手机"],
            ["south_admin", "测试系统管理员", "3350101", "系统管理员", None],
            ["south_clerk", "测试受理员", "3350101", "受理员", None],
        ]
        result = json.loads(output.getvalue())
        assert (result["rows"], result["unchanged"], result["changed"], result["created"]) == (
            2, 2, 0, 0,
        )  # fmt: skip

    def test_the_whole_companys_export_loads_back_unchanged_as_a_superuser(self, city, tmp_path):
        superuser()
        path = tmp_path / "users.csv"
        call_command("export_users", str(path), stdout=io.StringIO())
        output = io.StringIO()

        call_command("load_users", str(path), "--format", "json", stdout=output,
                     stderr=io.StringIO())  # fmt: skip

        result = json.loads(output.getvalue())
        assert (result["rows"], result["unchanged"]) == (5, 5)
        assert "root" not in path.read_text(encoding="utf-8-sig")


def test_the_dashed_command_exits_non_zero_on_a_missing_file(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "refmeter.cli", "load-users", str(tmp_path / "none.xlsx")],
        capture_output=True, text=True, check=False,
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PATH": ""},
    )  # fmt: skip

    assert completed.returncode == 1
    assert "无法读取" in completed.stderr


def _upload(client, data: bytes):
    return client.post(
        reverse("masterdata:upload"),
        {"kind": "users", "file": SimpleUploadedFile("users.xlsx", data)},
    )


@pytest.mark.django_db(transaction=True)
def test_on_the_page_a_checked_file_once_confirmed_shows_each_new_users_link(city, client):
    client.force_login(city.south_admin)

    _upload(client, NEW)
    factories.run_queued_tasks()
    check = Job.objects.get()
    checked = client.get(reverse("jobs:detail", args=[check.pk])).content.decode()
    client.post(reverse("masterdata:confirm", args=[check.pk]))
    factories.run_queued_tasks()
    job = Job.objects.exclude(pk=check.pk).get()
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()

    assert check.status == JobStatus.SUCCEEDED
    assert "新建：3350101001 张伟（3350101 电费人员）" in checked
    assert "另有 2 个用户不在文件中" in checked
    assert "/users/activate/" not in checked
    assert job.status == JobStatus.SUCCEEDED
    links = job.result["masterdata"]["links"]
    assert len(links) == 2
    assert f"http://testserver{links[0]['path']}" in page
    assert not User.objects.get(username="3350101001").is_active


class TestThePage:
    def test_users_come_right_after_units_with_their_template(self, city, client):
        client.force_login(city.south_admin)

        page = client.get(reverse("masterdata:page")).content.decode()
        template = client.get(reverse("masterdata:template", args=["users"]))

        assert re.findall(r'<option value="(\w+)">', page.split('name="kind"')[1])[:3] == [
            "units",
            "users",
            "customers",
        ]
        assert read_rows(template.content) == [
            ["工号", "姓名", "单位编码", "角色", "手机"],
            ["3350101001", "张伟", "3350101", "电费人员", "13905751234"],
        ]

    def test_a_clerk_is_refused_the_page_and_the_upload(self, city, client):
        client.force_login(city.south_clerk)

        page = client.get(reverse("masterdata:page"))
        upload = _upload(client, NEW)

        assert (page.status_code, upload.status_code) == (403, 403)
        assert not Job.objects.exists()
        assert not User.objects.filter(username="3350101001").exists()


def test_the_user_lists_export_loads_back_unchanged(city, client):
    client.force_login(city.south_admin)
    exported = client.get(reverse("organisations:user_export")).content

    result = load(exported, actor=city.south_admin, file_name="用户.xlsx")

    assert (result.rows, result.unchanged, result.changed, result.created) == (2, 2, [], [])


def test_a_large_file_goes_in_as_a_set_with_a_link_and_an_audit_entry_each(city):
    rows = [(f"33501019{index:04d}", f"用户{index}", "3350101", "受理员", "")
            for index in range(1200)]  # fmt: skip
    data = xlsx(USER_HEADER, *rows)

    result = load(data, actor=city.south_admin, file_name="big.xlsx")
    again = load(data, actor=city.south_admin, file_name="big.xlsx")

    users = dict(User.objects.filter(username__startswith="33501019").values_list("username", "pk"))
    entries = AuditEntry.objects.filter(action="user.create", occurred_at=NOW)
    last = entries.get(subject_label="335010191199")
    assert (len(result.created), len(users), len(result.links), again.unchanged) == (
        1200, 1200, 1200, 1200,
    )  # fmt: skip
    assert entries.count() == 1200
    assert last.subject_id == users["335010191199"]
    assert not User.objects.filter(username__in=users, is_active=True).exists()
    assert Client().get(result.links[-1]["path"]).status_code == 200
