"""docs/permissions.md and ROLES_FOR_ACTION are the same matrix, cell for cell."""

from __future__ import annotations

import re
from pathlib import Path

from refmeter.organisations.models import Role
from refmeter.organisations.permissions import ACTION_LABELS, ROLES_FOR_ACTION, Action

DOC = Path(__file__).resolve().parents[1] / "docs" / "permissions.md"
CODE = re.compile(r"`([a-z_]+)`")


def table() -> tuple[list[str], list[list[str]]]:
    """The header and the rows of the doc's one table of actions."""
    lines = [line.strip() for line in DOC.read_text(encoding="utf-8").splitlines()]
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in lines
        if line.startswith("|") and not set(line) <= set("|-: ")
    ]
    return rows[0], rows[1:]


def documented() -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    header, rows = table()
    roles = {
        index: CODE.search(cell).group(1) for index, cell in enumerate(header) if CODE.search(cell)
    }
    matrix: dict[str, frozenset[str]] = {}
    labels: dict[str, str] = {}
    for row in rows:
        action = CODE.fullmatch(row[0]).group(1)
        assert action not in matrix, f"{action} is in the table twice"
        assert {row[index] for index in roles} <= {"✓", "—"}, row
        matrix[action] = frozenset(role for index, role in roles.items() if row[index] == "✓")
        labels[action] = row[1]
    return matrix, labels


class TestTheWrittenMatrix:
    def test_has_a_column_for_every_role_in_order(self):
        header, _rows = table()

        assert [CODE.search(cell).group(1) for cell in header if CODE.search(cell)] == [
            role.value for role in Role
        ]
        assert [cell.split(" `")[0] for cell in header[3:]] == [str(role.label) for role in Role]

    def test_equals_roles_for_action_cell_for_cell(self):
        matrix, _labels = documented()

        assert matrix == {
            action.value: frozenset(role.value for role in roles)
            for action, roles in ROLES_FOR_ACTION.items()
        }

    def test_describes_each_action_in_the_words_the_refusals_use(self):
        _matrix, labels = documented()

        assert labels == {action.value: str(label) for action, label in ACTION_LABELS.items()}

    def test_every_action_is_in_the_matrix_and_the_administrator_may_do_each(self):
        assert set(ROLES_FOR_ACTION) == set(Action) == set(ACTION_LABELS)
        assert [
            action for action, roles in ROLES_FOR_ACTION.items() if Role.ADMINISTRATOR not in roles
        ] == []


# What each demo login does in a day (README, "The demo city"): the matrix must allow it.
DEMO_DAYS = {
    "clerk": {Action.ACCEPT_APPLICATION, Action.EDIT_SUB_ACCOUNT, Action.PRINT_LABELS},
    "surveyor": {Action.SURVEY_SITE, Action.ENTER_INSTALLATION, Action.PRINT_LABELS},
    "custmgr": {
        Action.SIGN_CONTRACT, Action.ARCHIVE_ORDER, Action.MANAGE_REGISTRY,
        Action.LOAD_NEARBY_INDEX, Action.IMPORT_STOCK, Action.MANAGE_OUTAGES,
        Action.SEND_OUTAGE_NOTICES, Action.PRINT_LABELS,
    },
    "field": {
        Action.CONNECT_POINTS, Action.ENTER_INSTALLATION, Action.REMOVE_METER,
        Action.PRINT_LABELS, Action.PLAN_INSPECTIONS, Action.RECORD_INSPECTION,
        Action.RECORD_FINDING, Action.OPEN_ANOMALY_CASE,
    },
    "collector": {
        Action.IMPORT_READINGS, Action.LOAD_AREA_ENERGY, Action.OPEN_ANOMALY_CASE,
        Action.SEND_CONTACT_SHEET,
    },
    "billing": {
        Action.RUN_BILLING, Action.CLOSE_BILLING_MONTH, Action.COMPUTE_BACK_BILLING,
        Action.APPROVE_BACK_BILLING, Action.VIEW_BACK_BILLINGS,
    },
    "manager": {
        Action.VIEW_STATISTICS, Action.VIEW_BACK_BILLINGS, Action.PLAN_INSPECTIONS,
        Action.MANAGE_OUTAGES,
    },
    "admin": set(Action),
}  # fmt: skip
DEMO_DAYS |= {"billing2": DEMO_DAYS["billing"], "billing3": DEMO_DAYS["billing"],
              "clerk2": DEMO_DAYS["clerk"]}  # fmt: skip


class TestTheDemoLogins:
    def test_each_may_still_do_its_day(self):
        from refmeter.demo.generator import DEMO_USERS

        refused = {
            username: sorted(
                action for action in DEMO_DAYS[username] if role not in ROLES_FOR_ACTION[action]
            )
            for username, _name, role, _unit in DEMO_USERS
        }

        assert refused == {username: [] for username, *_rest in DEMO_USERS}
