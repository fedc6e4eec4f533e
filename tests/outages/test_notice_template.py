"""The outage SMS template: a default after migrate, edits by administrators only, checked
placeholders, every version kept and named by the notices made from it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse

from refmeter.audit.models import AuditEntry
from refmeter.organisations.models import Role
from refmeter.organisations.permissions import ActionNotAllowed
from refmeter.outages.models import Notice, NoticeTemplate, OutageKind
from refmeter.outages.selectors import notice_template_current
from refmeter.outages.services import (
    UnableToEditNoticeTemplate,
    notice_template_update,
    notices_plan,
    outage_create,
)
from refmeter.outages.texts import DEFAULT_TEMPLATE
from tests import factories

NOW = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 11, 10, 0, 30, tzinfo=dt.UTC)  # 08:30 in Shaoxing
END = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)
SHORT = "{customer}：{window}停电，{count}个用电点：{addresses}。"
KNOWN = "{utility}、{customer}、{reason}、{window}、{start}、{end}、{count}、{addresses}"


def edit(actor, text, *, note="", based_on=None):
    return notice_template_update(
        actor=actor, text=text, note=note, now=NOW,
        based_on=notice_template_current().version if based_on is None else based_on,
    )  # fmt: skip


def stored() -> list[tuple[int, str]]:
    return list(NoticeTemplate.objects.order_by("version").values_list("version", "text"))


def outage(city):
    return outage_create(
        actor=city.south_admin, unit=city.south, kind=OutageKind.PLANNED, starts_at=START,
        ends_at=END, reason="线路检修", area_numbers=[city.south_area.number],
        access_point_numbers=[], now=NOW,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
class TestTheDefault:
    def test_is_stored_as_version_1_by_migrate(self):
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        latest = executor.loader.graph.leaf_nodes("outages")
        executor.migrate([("outages", "0004_notice_per_phone_constraints")])
        executor = MigrationExecutor(connection)
        executor.migrate(latest)

        template = NoticeTemplate.objects.get()
        assert (template.version, template.text, template.created_by) == (1, DEFAULT_TEMPLATE, None)


class TestEditing:
    def test_an_edit_is_the_next_version_and_the_earlier_ones_are_kept(self, city):
        edit(city.south_admin, SHORT, note="改短")
        edit(city.south_admin, "【供电】" + SHORT)

        assert stored() == [(1, DEFAULT_TEMPLATE), (2, SHORT), (3, "【供电】" + SHORT)]
        second = NoticeTemplate.objects.get(version=2)
        assert (second.note, second.created_by, second.created_at) == (
            "改短",
            city.south_admin,
            NOW,
        )
        entry = AuditEntry.objects.filter(action="outage.template_update").order_by("pk").first()
        assert (entry.before, entry.after, entry.reason) == (
            {"version": 1, "text": DEFAULT_TEMPLATE}, {"version": 2, "text": SHORT}, "改短",
        )  # fmt: skip

    def test_an_unknown_placeholder_is_refused_and_nothing_is_saved(self, city):
        edit(city.south_admin, SHORT)
        before = stored()

        with pytest.raises(UnableToEditNoticeTemplate) as refusal:
            edit(city.south_admin, "{customer}：{windw}停电，{count}个用电点。")

        assert refusal.value.problems == [
            f"未知的占位符：{{windw}}。可用的占位符：{KNOWN}。",
            "模板须写明停电时间：{window}（或 {start} 和 {end}）。",
        ]
        assert refusal.value.problems[0].field == "text"
        assert stored() == before

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("{customer}：{window}停电，{count}个用电点{", "花括号只能成对用于占位符，例如 {window}；"
             "请检查是否漏写或多写了括号。"),
            ("{customer}：明天停电，{count}个用电点。", "模板须写明停电时间：{window}（或 {start} 和 {end}）。"),
            ("{customer}：{window}停电。", "模板须写明受影响的用电点：{count} 或 {addresses}。"),
            ("   ", "请填写模板内容。"),
            ("{window}{count}" + "停" * 300, "模板不能超过 300 个字（现有 315 个）。"),
        ],
    )  # fmt: skip
    def test_a_template_that_cannot_say_what_it_must_is_refused(self, city, text, problem):
        before = stored()

        with pytest.raises(UnableToEditNoticeTemplate) as refusal:
            edit(city.south_admin, text)

        assert refusal.value.problems == [problem]
        assert stored() == before

    def test_an_edit_of_a_version_someone_has_replaced_since_is_refused(self, city):
        edit(city.south_admin, SHORT)
        before = stored()

        with pytest.raises(UnableToEditNoticeTemplate) as refusal:
            edit(city.south_admin, "【供电】" + SHORT, based_on=1)

        assert refusal.value.problems == [
            "模板已被他人修改为第 2 版，您的修改未保存；请查看最新版本后再改。"
        ]
        assert stored() == before

    def test_the_same_text_again_adds_no_version(self, city):
        edit(city.south_admin, SHORT)

        with pytest.raises(UnableToEditNoticeTemplate) as refusal:
            edit(city.south_admin, SHORT + "  ")

        assert refusal.value.problems == ["模板内容没有变化，未保存新版本。"]
        assert [version for version, _text in stored()] == [1, 2]

    @pytest.mark.parametrize("role", [Role.CUSTOMER_MANAGER, Role.MANAGER, Role.CLERK])
    def test_only_an_administrator_may(self, city, role):
        before = stored()

        with pytest.raises(ActionNotAllowed) as refusal:
            edit(factories.user(unit=city.south, role=role), SHORT)

        assert str(refusal.value) == "只有系统管理员可以修改停电通知模板。"
        assert stored() == before


class TestNoticesAndVersions:
    def test_a_notice_keeps_the_text_and_version_it_was_made_with(self, city):
        factories.group(actor=city.south_admin, unit=city.south, place=city.south_place)
        first = outage(city)
        notices_plan(actor=city.south_admin, outage_id=first.pk, now=NOW)
        old = Notice.objects.get(outage=first)

        edit(city.south_admin, SHORT)
        second = outage(city)
        notices_plan(actor=city.south_admin, outage_id=second.pk, now=NOW)

        new = Notice.objects.get(outage=second)
        assert (old.template.version, new.template.version) == (1, 2)
        assert Notice.objects.get(outage=first).message == old.message
        assert old.message.startswith("【供电公司】尊敬的")
        assert new.message == (
            f"{new.customer_name}：11月10日 08:30 至 17:00停电，1个用电点：越城区城南街道1幢。"
        )


class TestThePage:
    def test_shows_the_template_its_placeholders_and_versions_to_an_administrator(
        self, client, city
    ):
        edit(city.south_admin, SHORT, note="改短")
        client.force_login(city.south_admin)

        page = client.get(reverse("outages:template")).content.decode()

        assert "当前第 2 版" in page and "改短" in page
        assert page.count("<code>&#123;") == 8
        assert DEFAULT_TEMPLATE in page  # version 1, kept

    def test_saves_an_edit_and_says_so(self, client, city):
        client.force_login(city.south_admin)
        version = notice_template_current().version

        response = client.post(
            reverse("outages:template"), {"text": SHORT, "note": "改短", "based_on": version},
            follow=True,
        )  # fmt: skip

        assert "已保存为第 2 版" in response.content.decode()
        assert stored()[-1] == (2, SHORT)

    def test_shows_an_unknown_placeholder_beside_the_text_keeping_what_was_typed(
        self, client, city
    ):
        client.force_login(city.south_admin)
        before = stored()
        typed = "{customer}：{window}停电，{cnt}个用电点。"

        response = client.post(
            reverse("outages:template"),
            {"text": typed, "note": "", "based_on": notice_template_current().version},
        )

        page = response.content.decode()
        assert response.status_code == 400
        assert 'id="error-text"' in page and "未知的占位符：{cnt}。" in page
        assert typed in page
        assert stored() == before

    def test_is_refused_to_anyone_but_an_administrator(self, client, city):
        client.force_login(factories.user(unit=city.south, role=Role.CUSTOMER_MANAGER))
        before = stored()

        shown = client.get(reverse("outages:template"))
        posted = client.post(
            reverse("outages:template"), {"text": SHORT, "note": "", "based_on": 1}
        )

        assert (shown.status_code, posted.status_code) == (403, 403)
        assert "只有系统管理员可以修改停电通知模板。" in posted.content.decode()
        assert stored() == before
