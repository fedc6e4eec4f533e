"""Each role starts its day: logs in, lands on its own to-do counts, opens its lists; the
header stays one line on a 1366 px screen, and field staff work from a phone."""

from __future__ import annotations

import pytest
from django.utils import timezone

from refmeter.labels.selectors import targets_for_points
from refmeter.labels.services import labels_issue
from refmeter.organisations.models import Role
from tests.browser.conftest import save_screenshot
from tests.dashboard.test_home import ARCHIVES, BILLING, CASES, INSPECTIONS, ORDERS, Work

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What each role's home shows, and the to-do lists it opens with the rows each one lists.
DAYS = {
    Role.CLERK: ({"acceptance": 2, **ARCHIVES}, [("acceptance", 2), ("archive_overdue", None)]),
    Role.SURVEYOR: ({"survey": 1, "installation": 2}, [("survey", 1), ("installation", 2)]),
    Role.CUSTOMER_MANAGER: ({"contract": 1, **ARCHIVES}, [("contract", 1)]),
    Role.FIELD_STAFF: (
        {"connection": 1, "installation": 2, "removal": 1, **INSPECTIONS, "sheets_to_answer": 1},
        [("installation", 2), ("sheets_to_answer", 1)],
    ),
    Role.DATA_COLLECTION: (CASES, [("cases_old", 4), ("sheets_unanswered", 1)]),
    Role.BILLING: (BILLING, [("back_billings_to_approve", 1), ("months_to_close", None)]),
    Role.ADMINISTRATOR: (
        {**ORDERS, **ARCHIVES, **INSPECTIONS, **CASES, **BILLING},
        [("acceptance", 2)],
    ),
}


def _context(chromium, width: int, height: int, *, phone: bool = False):
    context = chromium.new_context(
        locale="zh-CN", viewport={"width": width, "height": height}, is_mobile=phone,
        has_touch=phone,
    )  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


def _log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill("correct-horse-battery")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/home/")


def _menu_tops(page) -> list[float]:
    """The top of every entry of the header's menu."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('header nav > a, header nav > details > summary'))
            .map(element => Math.round(element.getBoundingClientRect().top))"""
    )


def _header_middles(page) -> list[float]:
    """The vertical middle of the brand, the menu, the search field and the user's name."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll(
              'header.top .brand, header nav, form.search input, .who .me'
            )).map(element => {
              const box = element.getBoundingClientRect();
              return Math.round(box.top + box.height / 2);
            })"""
    )


def _no_horizontal_overflow(page) -> bool:
    # Against the layout viewport: a phone browser zooms out to show what overflows, so
    # window.innerWidth grows with the page and would hide the overflow.
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def _listed_rows(page) -> int:
    return page.locator("main table.list tbody tr:has(a)").count()


@pytest.fixture
def work(city) -> Work:
    return Work(city)


class TestEachRolesDay:
    @pytest.mark.parametrize("role", list(DAYS), ids=str)
    def test_the_role_lands_on_its_counts_and_opens_its_lists(
        self, chromium, live_server, work, role
    ):
        shown, lists = DAYS[role]
        context, page, errors = _context(chromium, 1366, 900)
        user = work.users[role]

        _log_in(page, live_server, user.username)

        assert page.locator("h1").first.inner_text().startswith("待办")
        counts = {
            key: int(page.get_by_test_id(f"todo-{key}").locator(".todo-count").inner_text())
            for key in shown
        }
        assert counts == shown
        assert page.locator("[data-testid^=todo-]").count() == len(shown)
        tops = _menu_tops(page)
        assert len(tops) >= 4 and len(set(tops)) == 1, tops
        middles = _header_middles(page)
        assert len(middles) == 4 and max(middles) - min(middles) <= 2, middles
        assert page.locator("header.top").bounding_box()["height"] < 60
        assert page.get_by_role("searchbox", name="搜索").is_visible()
        save_screenshot(page, f"home-{role}-1366")
        for key, rows in lists:
            page.goto(f"{live_server.url}/home/")
            link = page.get_by_test_id(f"todo-{key}")
            href = link.get_attribute("href")
            link.click()
            page.wait_for_url(f"{live_server.url}{href}")
            page.wait_for_load_state("networkidle")
            if rows is not None:
                assert _listed_rows(page) == rows, key
        assert errors == []
        context.close()

    def test_the_manager_lands_on_the_dashboard_with_one_line_of_menu(
        self, chromium, live_server, work
    ):
        context, page, errors = _context(chromium, 1366, 900)

        _log_in(page, live_server, work.users[Role.MANAGER].username)

        assert page.locator("h1").first.inner_text().startswith("管理看板")
        assert page.get_by_test_id("points-total").inner_text() == "10"
        assert page.get_by_test_id("archives-overdue").inner_text() == "1"
        assert len(set(_menu_tops(page))) == 1
        middles = _header_middles(page)
        assert len(middles) == 4 and max(middles) - min(middles) <= 2, middles
        page.locator("summary", has_text="计量电费").click()
        page.get_by_role("link", name="退补", exact=True).click()
        page.wait_for_url(f"{live_server.url}/billing/back-billing/")
        assert _listed_rows(page) == 1
        assert page.get_by_role("button", name="审批并在下期账单结算").count() == 0
        assert errors == []
        context.close()

    @pytest.mark.parametrize("role", [*DAYS, Role.MANAGER], ids=str)
    def test_every_home_fits_a_phone(self, chromium, live_server, work, role):
        # The manager's home is the dashboard, whose twelve-month tables are wider than a
        # phone: they scroll inside their card, the page itself never does.
        context, page, errors = _context(chromium, 390, 844, phone=True)

        _log_in(page, live_server, work.users[role].username)

        assert _no_horizontal_overflow(page), page.evaluate(
            "() => document.documentElement.scrollWidth"
        )
        save_screenshot(page, f"home-{role}-390")
        assert errors == []
        context.close()

    def test_a_menu_group_opens_and_a_click_elsewhere_closes_it(self, chromium, live_server, work):
        context, page, errors = _context(chromium, 1366, 900)
        _log_in(page, live_server, work.users[Role.ADMINISTRATOR].username)

        page.locator("summary", has_text="业务").click()
        business_open = page.get_by_role("link", name="归档期限").is_visible()
        page.locator("summary", has_text="电网").click()
        both = page.locator("details[data-menu-group][open]").count()
        page.locator("main h1").click()

        assert business_open
        assert both == 1
        assert page.locator("details[data-menu-group][open]").count() == 0
        assert errors == []
        context.close()

    def test_the_english_header_keeps_one_line_too(self, chromium, live_server, work):
        context, page, errors = _context(chromium, 1366, 900)
        context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])

        _log_in(page, live_server, work.users[Role.ADMINISTRATOR].username)

        assert page.locator("h1").first.inner_text().startswith("To do")
        assert len(set(_menu_tops(page))) == 1
        middles = _header_middles(page)
        assert len(middles) == 4 and max(middles) - min(middles) <= 2, middles
        assert _no_horizontal_overflow(page)
        assert errors == []
        context.close()


class TestFieldStaffOnAPhone:
    def test_the_menu_button_the_scan_page_and_the_inspection_form_fit_the_phone(
        self, chromium, live_server, work
    ):
        field = work.users[Role.FIELD_STAFF]
        point = work.group.points.order_by("pk").first()
        label = labels_issue(
            actor=field, targets=targets_for_points(user=field, point_ids=[point.pk]),
            batch="test", now=timezone.now(),
        )[0]  # fmt: skip
        context, page, errors = _context(chromium, 390, 844, phone=True)

        _log_in(page, live_server, field.username)
        home_fits = _no_horizontal_overflow(page)
        menu_hidden = not page.get_by_role("link", name="基准户查询").is_visible()
        page.get_by_role("button", name="菜单").click()
        menu_shown = page.get_by_role("link", name="基准户查询").is_visible()
        expanded = page.get_by_role("button", name="菜单").get_attribute("aria-expanded")
        save_screenshot(page, "home-field_staff-390-menu")
        page.locator("summary", has_text="电网").click()
        page.get_by_role("link", name="周期检查").click()
        page.wait_for_url(f"{live_server.url}/inspections/")
        plans_fit = _no_horizontal_overflow(page)
        page.goto(f"{live_server.url}/s/{label.token}/")
        form = page.get_by_test_id("inspection-form")
        form.scroll_into_view_if_needed()
        save_screenshot(page, "scan-field_staff-390")
        scan_fits = _no_horizontal_overflow(page)
        form_box = form.bounding_box()

        assert home_fits and menu_hidden
        assert menu_shown and expanded == "true"
        assert plans_fit
        assert scan_fits
        assert form_box["x"] >= 0 and form_box["x"] + form_box["width"] <= 390
        assert page.locator("input[type=file][name=photos]").get_attribute("capture") == (
            "environment"
        )
        assert errors == []
        context.close()

    def test_the_position_button_fills_the_position_sent_with_the_finding(
        self, chromium, live_server, work
    ):
        field = work.users[Role.FIELD_STAFF]
        point = work.group.points.order_by("pk").first()
        label = labels_issue(
            actor=field, targets=targets_for_points(user=field, point_ids=[point.pk]),
            batch="test", now=timezone.now(),
        )[0]  # fmt: skip
        context = chromium.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
            has_touch=True, geolocation={"latitude": 30.0001, "longitude": 120.5853},
            permissions=["geolocation"],
        )  # fmt: skip
        page = context.new_page()
        page.set_default_timeout(15_000)
        _log_in(page, live_server, field.username)
        page.goto(f"{live_server.url}/s/{label.token}/")

        page.get_by_role("button", name="记录当前位置").click()
        page.locator("[data-locate-status]").filter(has_text="30.000100, 120.585300").wait_for()
        page.get_by_label("点位在，封印完好").check()
        page.get_by_role("button", name="记录", exact=True).click()
        page.locator(".messages").get_by_text("检查结果已记录。").wait_for()

        result = point.inspections.get()
        assert (str(result.latitude), str(result.longitude)) == ("30.000100", "120.585300")
        context.close()
