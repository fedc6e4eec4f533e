"""The steps of a work order. Each function checks the actor's role for the step and unit,
runs in one transaction and writes the order's timeline; registry changes go through the
registry's services, citing the order number."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from refmeter.common.spreadsheets import find_header
from refmeter.common.text import clean_digits, clean_text, is_digits
from refmeter.common.validators import FieldProblem
from refmeter.common.versions import Meanwhile, stale_version_problems
from refmeter.common.workdays import WorkingDaysUnknown, add_working_days
from refmeter.organisations.models import Role, User
from refmeter.organisations.selectors import unit_is_visible, unit_scope
from refmeter.registry.models import (
    Customer,
    DeviceType,
    Group,
    GroupStatus,
    NearbyNumber,
    Point,
    PointKind,
    PointStatus,
)
from refmeter.registry.selectors import access_point_lookup
from refmeter.registry.services import (
    PointInput,
    UnableToChangeRegistry,
    account_numbers_issue,
    group_close,
    group_create,
    point_update,
    sub_account_cancel,
    sub_accounts_add,
)
from refmeter.spreadsheets.application_list import CellProblem, parse_application_list
from refmeter.spreadsheets.selectors import application_list_check
from refmeter.workorders.models import (
    REQUIRED_DOCUMENTS,
    STEP_ROLES,
    ArchiveDocument,
    Contract,
    DocumentKind,
    EventKind,
    LineAction,
    OrderCounter,
    OrderKind,
    Step,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderLine,
)
from refmeter.workorders.selectors import (
    OrderNotVisible,
    grouping_check,
    may_do_step,
    next_step,
    order_changes_since,
    previous_step,
)

ARCHIVE_WORKING_DAYS = 7
MAX_DOCUMENT_BYTES = 30 * 1024 * 1024
DOCUMENT_SUFFIXES = {".pdf", ".jpg", ".jpeg", ".png", ".xlsx", ".xls", ".ods", ".doc", ".docx"}


class UnableToProgressOrder(Exception):
    """The step cannot be done; ``problems`` lists every reason."""

    def __init__(self, problems: str | Sequence[str]):
        # A FieldProblem (a str) is kept as it is, so a page can show it beside its field.
        self.problems = (
            [problems]
            if isinstance(problems, str)
            else [p if isinstance(p, str) else str(p) for p in problems]
        )
        super().__init__("\n".join(self.problems))


class StepNotAllowed(UnableToProgressOrder):
    pass


class UnableToSaveStaleOrder(UnableToProgressOrder):
    """The order was changed by someone else after the caller read it (at
    ``expected_version``); nothing was written. ``changes`` lists what was done meanwhile."""

    def __init__(self, problems: Sequence[str], *, current_version: int, changes: list[Meanwhile]):
        super().__init__(problems)
        self.current_version = current_version
        self.changes = changes


Change = tuple[str, str, str]  # (field, before, after), see WorkOrderEvent.changes


def _actor_name(actor: User) -> str:
    return actor.get_full_name() or actor.get_username()


def _event(
    order: WorkOrder,
    *,
    actor: User,
    kind: str,
    now: dt.datetime,
    note: str = "",
    changes: Sequence[Change] = (),
    changed: bool = True,
) -> None:
    """The order's timeline entry. A step action on the (locked) order also raises its version
    (``changed``); the entry keeps that version and the fields the action changed."""
    if changed and not order.bump_version():
        raise RuntimeError(f"{order!r} changed while locked")
    WorkOrderEvent.objects.create(
        order=order,
        step=order.step,
        kind=kind,
        actor=actor,
        actor_name=_actor_name(actor),
        occurred_at=now,
        note=note[:500],
        version=order.version if changed else None,
        changes=[list(change) for change in changes if change[1] != change[2]],
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _locked_order(
    *,
    actor: User,
    order_id: int,
    step: str | Sequence[str],
    expected_version: int | None = None,
    may_act: Callable[..., bool] = may_do_step,
) -> WorkOrder:
    """The order, locked, at one of ``step``, for a user whose role does that step; with
    ``expected_version``, only if nobody has changed the order since that version was read."""
    order = (
        WorkOrder.objects.select_for_update(of=("self",))
        .filter(unit_scope(user=actor), pk=order_id)
        .select_related("unit", "customer", "group", "device_type")
        .first()
    )
    if order is None:
        raise OrderNotVisible(_("未找到该工单，或它不属于您所在单位及下属单位。"))
    if expected_version is not None and order.version != expected_version:
        changes = order_changes_since(order=order, version=expected_version)
        heading = _(
            "工单 %(number)s 在您读取之后已被他人修改（您读取的是第 %(expected)d 版，"
            "现为第 %(current)d 版），本次操作未执行。"
        ) % {"number": order.number, "expected": expected_version, "current": order.version}
        raise UnableToSaveStaleOrder(
            stale_version_problems(heading=heading, changes=changes),
            current_version=order.version,
            changes=changes,
        )
    steps = [step] if isinstance(step, str) else list(step)
    if order.step not in steps:
        raise UnableToProgressOrder(
            _("工单当前在“%(current)s”环节，不能执行此操作。")
            % {"current": order.get_step_display()}
        )
    if not may_act(user=actor, step=order.step):
        raise StepNotAllowed(
            _("“%(step)s”环节应由%(roles)s办理，您的岗位角色无权操作。")
            % {"step": order.get_step_display(), "roles": _step_roles_text(order.step)}
        )
    return order


def _step_roles_text(step: str) -> str:
    return "、".join(str(Role(role).label) for role in sorted(STEP_ROLES.get(step, ())))


def _order_number(day: dt.date) -> str:
    counter, _created = OrderCounter.objects.select_for_update().get_or_create(day=day)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"GD{day:%Y%m%d}{counter.last:05d}"


# ---------------------------------------------------------------- starting an order


@dataclass(frozen=True)
class Application:
    """The application form (attachment 3)."""

    handler_name: str = ""
    handler_id_number: str = ""
    handler_phone: str = ""
    sms_number: str = ""
    outage_contact_name: str = ""
    outage_contact_phone: str = ""
    points_applied: int = 0
    note: str = ""


def _start(
    *,
    actor: User,
    kind: str,
    customer: Customer,
    group: Group | None,
    device_type: DeviceType | None,
    application: Application,
    now: dt.datetime,
) -> WorkOrder:
    if not may_do_step(user=actor, step=Step.ACCEPTANCE):
        raise StepNotAllowed(
            _("“%(step)s”环节应由%(roles)s办理，您的岗位角色无权操作。")
            % {"step": Step.ACCEPTANCE.label, "roles": _step_roles_text(Step.ACCEPTANCE)}
        )
    if not unit_is_visible(user=actor, unit=customer.unit):
        raise OrderNotVisible(_("该客户不属于您所在单位及下属单位。"))
    with transaction.atomic():
        order = WorkOrder.objects.create(
            number=_order_number(now.astimezone(dt.UTC).date()),
            kind=kind,
            unit=customer.unit,
            customer=customer,
            group=group,
            device_type=device_type,
            step=Step.ACCEPTANCE,
            created_by=actor,
            created_at=now,
            **{key: value for key, value in application.__dict__.items()},
        )
        _event(order, actor=actor, kind=EventKind.CREATED, now=now, changed=False)
    return order


def order_new_install_start(
    *,
    actor: User,
    customer_id: int,
    device_type_id: int,
    application: Application,
    now: dt.datetime,
) -> WorkOrder:
    """A new group for a customer: base account and sub-accounts in one process."""
    customer = Customer.objects.filter(unit_scope(user=actor), pk=customer_id).first()
    if customer is None:
        raise OrderNotVisible(_("该客户不存在，或不属于您所在单位及下属单位。"))
    device_type = DeviceType.objects.filter(pk=device_type_id).first()
    if device_type is None:
        raise UnableToProgressOrder(_("请选择单点设备类型。"))
    return _start(
        actor=actor,
        kind=OrderKind.NEW_INSTALL,
        customer=customer,
        group=None,
        device_type=device_type,
        application=application,
        now=now,
    )


def order_group_start(
    *, actor: User, group_id: int, kind: str, application: Application, now: dt.datetime
) -> WorkOrder:
    """A change or closure, always started from the group's base account."""
    if kind not in (OrderKind.CHANGE, OrderKind.CLOSURE):
        raise ValueError(kind)
    group = (
        Group.objects.filter(unit_scope(user=actor), pk=group_id)
        .select_related("customer", "device_type")
        .first()
    )
    if group is None:
        raise OrderNotVisible(_("未找到该群组，或它不属于您所在单位及下属单位。"))
    if group.status != GroupStatus.RUNNING:
        raise UnableToProgressOrder(_("群组已销户，不能再办理业务。"))
    open_order = (
        WorkOrder.objects.filter(group=group)
        .exclude(step=Step.DONE)
        .values_list("number", flat=True)
    ).first()
    if open_order:
        raise UnableToProgressOrder(
            _("该群组已有在途工单 %(number)s，请办结后再发起新的业务。") % {"number": open_order}
        )
    return _start(
        actor=actor,
        kind=kind,
        customer=group.customer,
        group=group,
        device_type=group.device_type,
        application=application,
        now=now,
    )


# ---------------------------------------------------------------- acceptance: the list


@dataclass(frozen=True)
class ImportSummary:
    adding: int
    cancelling: int
    grouping: str


def order_lines_import(
    *,
    actor: User,
    order_id: int,
    rows: list[list[object]],
    now: dt.datetime,
    expected_version: int | None = None,
) -> ImportSummary:
    """Replace the order's add/cancel lines with the customer's application list.

    Every problem in the list is reported at once, by row and column; nothing is
    written unless the whole list is right.
    """
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.ACCEPTANCE, expected_version=expected_version
        )
        if order.kind == OrderKind.CLOSURE:
            raise UnableToProgressOrder(_("销户工单不需要接电申请清单。"))
        parsed = parse_application_list(rows)
        # What only the order knows: the list's header against the order's group and type.
        problems: list[CellProblem] = []
        group = order.group if order.group_id else None
        if group is not None:
            base_number = (
                Point.objects.filter(group=group, kind=PointKind.BASE)
                .values_list("account_number", flat=True)
                .first()
                or ""
            )
            if parsed.base_account_number and parsed.base_account_number != base_number:
                problems.append(
                    CellProblem(
                        0,
                        "",
                        "",
                        _("清单表头的虚拟户号 %(listed)s 与本群组基准户 %(base)s 不一致。")
                        % {"listed": parsed.base_account_number, "base": base_number},
                    )
                )
        device_type = order.device_type
        if (
            parsed.device_type
            and device_type
            and parsed.device_type not in device_type.name
            and device_type.name not in parsed.device_type
        ):
            problems.append(
                CellProblem(
                    0,
                    "",
                    "",
                    _("清单表头的设备类型“%(listed)s”与工单的设备类型“%(type)s”不一致。")
                    % {"listed": parsed.device_type, "type": device_type.name},
                )
            )
        # Everything else is the same check as `refmeter check-list`.
        check = application_list_check(parsed=parsed, group=group, user=actor)
        problems.extend(check.problems)
        adding, cancelling, cancel_targets = check.adding, check.cancelling, check.cancel_targets
        if problems:
            raise UnableToProgressOrder([str(problem) for problem in problems])
        WorkOrderLine.objects.filter(
            order=order, action__in=[LineAction.ADD, LineAction.CANCEL]
        ).delete()
        start = (
            WorkOrderLine.objects.filter(order=order)
            .order_by("-line_number")
            .values_list("line_number", flat=True)
            .first()
            or 0
        )
        lines = []
        for offset, line in enumerate(parsed.lines, start=1):
            target = cancel_targets.get(line.row_number)
            lines.append(
                WorkOrderLine(
                    order=order,
                    line_number=start + offset,
                    action=LineAction.ADD if line.action == "add" else LineAction.CANCEL,
                    is_base=order.kind == OrderKind.NEW_INSTALL and offset == 1,
                    point=target,
                    name=line.name,
                    device_address=line.position,
                    nearby_number=line.nearby_number,
                    source_row=line.row_number,
                    account_number=target.account_number if target else "",
                    access_point=target.access_point if target else None,
                    area=target.area if target else None,
                )
            )
        WorkOrderLine.objects.bulk_create(lines)
        changes = [("points_applied", _text(order.points_applied), _text(adding))]
        order.points_applied = adding
        order.save(update_fields=["points_applied"])
        grouping = grouping_check(order=order, as_of=now.date())
        _event(
            order,
            actor=actor,
            kind=EventKind.NOTE,
            now=now,
            note=_("导入接电申请清单：新增 %(add)d 个，取消 %(cancel)d 个。")
            % {"add": adding, "cancel": cancelling},
            changes=changes,
        )
    return ImportSummary(adding=adding, cancelling=cancelling, grouping=grouping.message)


def order_base_line_choose(
    *,
    actor: User,
    order_id: int,
    line_id: int,
    now: dt.datetime,
    expected_version: int | None = None,
) -> None:
    """For a new install: which of the new points gets the reference meter."""
    with transaction.atomic():
        order = _locked_order(
            actor=actor,
            order_id=order_id,
            step=[Step.ACCEPTANCE, Step.SURVEY],
            expected_version=expected_version,
        )
        line = order.lines.filter(pk=line_id, action=LineAction.ADD).first()
        if order.kind != OrderKind.NEW_INSTALL or line is None:
            raise UnableToProgressOrder(_("只有新装工单的新增点位可以设为基准户。"))
        order.lines.update(is_base=False)
        WorkOrderLine.objects.filter(pk=line.pk).update(is_base=True)
        _event(order, actor=actor, kind=EventKind.NOTE, now=now,
               note=_("设为基准户：%(name)s") % {"name": line.name})  # fmt: skip


def order_change_line_add(
    *,
    actor: User,
    order_id: int,
    account_number: str,
    now: dt.datetime,
    name: str = "",
    device_address: str = "",
    access_point_number: str = "",
    expected_version: int | None = None,
) -> WorkOrderLine:
    """A change of an existing point's name, address or place (a move), within a change order."""
    with transaction.atomic():
        order = _locked_order(
            actor=actor,
            order_id=order_id,
            step=[Step.ACCEPTANCE, Step.SURVEY],
            expected_version=expected_version,
        )
        if order.kind != OrderKind.CHANGE:
            raise UnableToProgressOrder(_("只有变更工单可以修改点位信息。"))
        number = clean_digits(account_number)
        point = (
            Point.objects.filter(group=order.group, account_number=number)
            .exclude(status=PointStatus.CANCELLED)
            .select_related("access_point", "area")
            .first()
        )
        problems = []
        if point is None:
            problems.append(_("户号 %(number)s 不是本群组的在用用电点。") % {"number": number})
        access_point = None
        if clean_digits(access_point_number):
            access_point, problem = access_point_lookup(user=actor, number=access_point_number)
            if problem:
                problems.append(problem)
        if problems:
            raise UnableToProgressOrder(problems)
        assert point is not None
        if order.lines.filter(point=point).exists():
            raise UnableToProgressOrder(
                _("户号 %(number)s 已在本工单中。") % {"number": point.account_number}
            )
        last = order.lines.order_by("-line_number").values_list("line_number", flat=True).first()
        place = access_point or point.access_point
        line = WorkOrderLine.objects.create(
            order=order,
            line_number=(last or 0) + 1,
            action=LineAction.CHANGE,
            point=point,
            account_number=point.account_number,
            name=clean_text(name) or point.name,
            device_address=clean_text(device_address) or point.device_address,
            nearby_number=point.nearby_number,
            access_point=place,
            area=place.area if place else None,
            place_source="manual" if access_point else "",
        )
        _event(order, actor=actor, kind=EventKind.NOTE, now=now,
               note=_("变更点位信息：%(number)s") % {"number": point.account_number})  # fmt: skip
    return line


# ---------------------------------------------------------------- survey


@dataclass(frozen=True)
class SurveyResult:
    numbers_issued: int
    resolved: int
    unresolved: list[str]


def order_survey_resolve(
    *, actor: User, order_id: int, now: dt.datetime, expected_version: int | None = None
) -> SurveyResult:
    """Issue account numbers to the new points and find their access points and areas
    from their nearby numbers; what cannot be found is left for correction by hand."""
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.SURVEY, expected_version=expected_version
        )
        adds = list(order.lines.filter(action=LineAction.ADD).order_by("line_number"))
        without_number = [line for line in adds if not line.account_number]
        numbers = account_numbers_issue(unit=order.unit, count=len(without_number))
        for line, number in zip(without_number, numbers, strict=True):
            line.account_number = number
        index = {
            entry.number: entry.access_point
            for entry in NearbyNumber.objects.filter(
                number__in=[line.nearby_number for line in adds]
            ).select_related("access_point__area")
        }
        resolved = 0
        unresolved = []
        for line in adds:
            if line.place_source == "manual":
                continue
            access_point = index.get(line.nearby_number)
            if access_point is not None and unit_is_visible(
                user=actor, unit=access_point.area.unit
            ):
                line.access_point = access_point
                line.area = access_point.area
                line.place_source = "auto"
                resolved += 1
            else:
                line.access_point = None
                line.area = None
                line.place_source = ""
                unresolved.append(line.name)
        WorkOrderLine.objects.bulk_update(
            adds, ["account_number", "access_point", "area", "place_source"]
        )
        _event(
            order,
            actor=actor,
            kind=EventKind.NOTE,
            now=now,
            note=_(
                "生成户号 %(numbers)d 个，自动解析接入点 %(resolved)d 个，待人工确认 %(left)d 个。"
            )
            % {"numbers": len(numbers), "resolved": resolved, "left": len(unresolved)},
        )
    return SurveyResult(numbers_issued=len(numbers), resolved=resolved, unresolved=unresolved)


def order_line_place_set(
    *,
    actor: User,
    order_id: int,
    line_id: int,
    access_point_number: str,
    now: dt.datetime,
    expected_version: int | None = None,
) -> WorkOrderLine:
    """The surveyor corrects a point's access point (and so its area) by hand."""
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.SURVEY, expected_version=expected_version
        )
        line = order.lines.filter(pk=line_id).exclude(action=LineAction.CANCEL).first()
        if line is None:
            raise UnableToProgressOrder(_("工单中没有这个点位。"))
        access_point, problem = access_point_lookup(user=actor, number=access_point_number)
        if problem:
            raise UnableToProgressOrder(problem)
        assert access_point is not None
        before = line.access_point.number if line.access_point else ""
        line.access_point = access_point
        line.area = access_point.area
        line.place_source = "manual"
        line.save(update_fields=["access_point", "area", "place_source"])
        _event(
            order,
            actor=actor,
            kind=EventKind.NOTE,
            now=now,
            note=_("人工确认接入点：%(name)s → %(point)s")
            % {"name": line.name, "point": access_point.number},
            changes=[(f"line.{line.line_number}.access_point", before, access_point.number)],
        )
    return line


# ---------------------------------------------------------------- contract, connection


def contract_save(
    *,
    actor: User,
    order_id: int,
    number: str,
    start_date: dt.date,
    end_date: dt.date,
    approved_by: str,
    approved_date: dt.date | None,
    signed_date: dt.date | None,
    now: dt.datetime,
    expected_version: int | None = None,
) -> Contract:
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.CONTRACT, expected_version=expected_version
        )
        problems = []
        if not clean_text(number):
            problems.append(FieldProblem(_("请填写合同编号。"), field="number"))
        if end_date <= start_date:
            problems.append(FieldProblem(_("合同到期日期必须晚于生效日期。"), field="end_date"))
        if signed_date and not approved_date:
            problems.append(FieldProblem(_("合同须先审批再签订。"), field="approved_date"))
        if signed_date and approved_date and signed_date < approved_date:
            problems.append(FieldProblem(_("签订日期不能早于审批日期。"), field="signed_date"))
        if problems:
            raise UnableToProgressOrder(problems)
        values = {
            "number": clean_text(number),
            "start_date": start_date,
            "end_date": end_date,
            "approved_by": clean_text(approved_by),
            "approved_date": approved_date,
            "signed_date": signed_date,
        }
        old = Contract.objects.filter(order=order).first()
        contract, _created = Contract.objects.update_or_create(order=order, defaults=values)
        changes = [
            (f"contract.{field}", _text(getattr(old, field) if old else None), _text(value))
            for field, value in values.items()
        ]
        _event(order, actor=actor, kind=EventKind.NOTE, now=now, changes=changes,
               note=_("合同 %(number)s 已保存。") % {"number": contract.number})  # fmt: skip
    return contract


def connection_record(
    *,
    actor: User,
    order_id: int,
    connection_date: dt.date,
    now: dt.datetime,
    meter_asset_number: str = "",
    meter_barcode: str = "",
    meter_box_resource_number: str = "",
    ct_ratio: int = 1,
    tariff_code: str = "",
    expected_version: int | None = None,
) -> WorkOrder:
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.CONNECTION, expected_version=expected_version
        )
        fields = ["connection_date"]
        if order.kind == OrderKind.NEW_INSTALL:
            fields += [
                "meter_asset_number", "meter_barcode", "meter_box_resource_number", "ct_ratio",
                "tariff_code",
            ]  # fmt: skip
        before = {field: _text(getattr(order, field)) for field in fields}
        problems = []
        if order.kind == OrderKind.NEW_INSTALL:
            meter = clean_digits(meter_asset_number)
            if not meter:
                problems.append(
                    FieldProblem(_("新装须填写参考表资产编号。"), field="meter_asset_number")
                )
            elif Group.objects.filter(meter_asset_number=meter).exists():
                problems.append(
                    FieldProblem(
                        _("参考表 %(meter)s 已属于另一个群组。") % {"meter": meter},
                        field="meter_asset_number",
                    )
                )
            if ct_ratio < 1:
                problems.append(FieldProblem(_("互感器倍率必须是正整数。"), field="ct_ratio"))
            order.meter_asset_number = meter
            order.meter_barcode = clean_text(meter_barcode)
            order.meter_box_resource_number = clean_text(meter_box_resource_number)
            order.ct_ratio = ct_ratio
            order.tariff_code = clean_text(tariff_code)
        if connection_date > now.date() + dt.timedelta(days=1):
            problems.append(FieldProblem(_("接电日期不能晚于今天。"), field="connection_date"))
        if problems:
            raise UnableToProgressOrder(problems)
        order.connection_date = connection_date
        order.save()
        changes = [(field, before[field], _text(getattr(order, field))) for field in fields]
        _event(order, actor=actor, kind=EventKind.NOTE, now=now, changes=changes,
               note=_("接电日期 %(day)s") % {"day": connection_date.isoformat()})  # fmt: skip
    return order


# ---------------------------------------------------------------- installation entry


def installation_dates_set(
    *,
    actor: User,
    order_id: int,
    now: dt.datetime,
    all_lines: dt.date | None = None,
    by_line: dict[int, dt.date] | None = None,
    expected_version: int | None = None,
) -> int:
    """Installation (or removal) dates of the order's points: one for all, or per line."""
    with transaction.atomic():
        order = _locked_order(
            actor=actor,
            order_id=order_id,
            step=Step.INSTALLATION,
            expected_version=expected_version,
        )
        lines = list(order.lines.all())
        problems = []
        changed = 0
        changes: list[Change] = []
        for line in lines:
            day = (by_line or {}).get(line.pk, all_lines)
            if day is None:
                continue
            if (
                order.connection_date
                and line.action == LineAction.ADD
                and day < order.connection_date
            ):
                problems.append(
                    _("第 %(line)d 行：安装日期 %(day)s 早于接电日期 %(connection)s。")
                    % {"line": line.line_number, "day": day, "connection": order.connection_date}
                )
            if day > now.date() + dt.timedelta(days=1):
                problems.append(
                    _("第 %(line)d 行：安装日期 %(day)s 晚于今天。")
                    % {"line": line.line_number, "day": day}
                )
            changes.append(
                (
                    f"line.{line.line_number}.installation_date",
                    _text(line.installation_date),
                    _text(day),
                )
            )
            line.installation_date = day
            changed += 1
        if problems:
            raise UnableToProgressOrder(problems)
        WorkOrderLine.objects.bulk_update(lines, ["installation_date"])
        _event(order, actor=actor, kind=EventKind.NOTE, now=now, changes=changes,
               note=_("录入安装日期 %(count)d 个。") % {"count": changed})  # fmt: skip
    return changed


INSTALLATION_COLUMNS = {
    "account_number": ("户号",),
    "date": ("安装日期", "接电日期", "日期"),
}


def installation_dates_import(
    *,
    actor: User,
    order_id: int,
    rows: list[list[object]],
    now: dt.datetime,
    expected_version: int | None = None,
) -> int:
    """Installation dates from a sheet with the columns 户号 and 安装日期 (the confirmation
    list with its date column filled in on site will do)."""
    order = WorkOrder.objects.filter(unit_scope(user=actor), pk=order_id).first()
    if order is None:
        raise OrderNotVisible(_("未找到该工单，或它不属于您所在单位及下属单位。"))
    header = find_header(rows, INSTALLATION_COLUMNS, {"account_number", "date"})
    if header is None:
        raise UnableToProgressOrder(_("未找到“户号”和“安装日期”两列。"))
    header_index, columns = header
    by_number = dict(order.lines.values_list("account_number", "pk"))
    problems = []
    dates: dict[int, dt.date] = {}
    for index, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        number = clean_digits(
            row[columns["account_number"]] if columns["account_number"] < len(row) else ""
        )
        raw = row[columns["date"]] if columns["date"] < len(row) else None
        if not number and raw in (None, ""):
            continue
        if not is_digits(number, 10):
            continue  # title rows, signature lines
        if number not in by_number:
            problems.append(
                _("第 %(row)d 行：户号 %(number)s 不在本工单中。")
                % {"row": index, "number": number}
            )
            continue
        day = _as_date(raw)
        if day is None:
            problems.append(
                _("第 %(row)d 行：“%(value)s”不是日期（应为 2026-10-08 这样的格式）。")
                % {"row": index, "value": clean_text(raw)}
            )
            continue
        dates[by_number[number]] = day
    if problems:
        raise UnableToProgressOrder(problems)
    if not dates:
        raise UnableToProgressOrder(_("表格中没有安装日期。"))
    return installation_dates_set(
        actor=actor, order_id=order_id, now=now, by_line=dates, expected_version=expected_version
    )


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = (
        clean_text(value)
        .replace("/", "-")
        .replace(".", "-")
        .replace("年", "-")
        .replace("月", "-")
        .replace("日", "")
    )
    try:
        return dt.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError:
        return None


# ---------------------------------------------------------------- closure


def closure_record(
    *,
    actor: User,
    order_id: int,
    closure_date: dt.date,
    now: dt.datetime,
    expected_version: int | None = None,
) -> None:
    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.REMOVAL, expected_version=expected_version
        )
        if closure_date > now.date() + dt.timedelta(days=1):
            raise UnableToProgressOrder(_("销户日期不能晚于今天。"))
        changes = [("closure_date", _text(order.closure_date), _text(closure_date))]
        order.closure_date = closure_date
        order.save(update_fields=["closure_date"])
        _event(order, actor=actor, kind=EventKind.NOTE, now=now, changes=changes,
               note=_("拆表（销户）日期 %(day)s") % {"day": closure_date.isoformat()})  # fmt: skip


# ---------------------------------------------------------------- archive


def document_upload(
    *,
    actor: User,
    order_id: int,
    kind: str,
    upload: UploadedFile,
    now: dt.datetime,
    expected_version: int | None = None,
) -> ArchiveDocument:
    import os

    with transaction.atomic():
        order = _locked_order(
            actor=actor, order_id=order_id, step=Step.ARCHIVE, expected_version=expected_version
        )
        if kind not in REQUIRED_DOCUMENTS[order.kind]:
            raise UnableToProgressOrder(_("本工单不需要这类资料。"))
        name = upload.name or "file"
        suffix = os.path.splitext(name)[1].lower()
        if suffix not in DOCUMENT_SUFFIXES:
            raise UnableToProgressOrder(
                _("不支持的文件类型 %(suffix)s：请上传 PDF、图片或 Office 文件。")
                % {"suffix": suffix or "?"}
            )
        if (upload.size or 0) > MAX_DOCUMENT_BYTES:
            raise UnableToProgressOrder(_("文件超过 30 MB。"))
        if not upload.size:
            raise UnableToProgressOrder(_("文件是空的。"))
        document = ArchiveDocument(
            order=order,
            kind=kind,
            original_name=name[:255],
            size=upload.size,
            uploaded_by=actor,
            uploaded_at=now,
        )
        document.file.save(f"{order.number}-{kind}{suffix}", upload, save=False)
        document.save()
        note = _("上传归档资料：%(kind)s") % {"kind": document.get_kind_display()}
        _event(order, actor=actor, kind=EventKind.NOTE, now=now, note=note)
    return document


# ---------------------------------------------------------------- moving between steps


def _step_problems(order: WorkOrder, *, now: dt.datetime) -> list[str]:
    lines = list(order.lines.all())
    adds = [line for line in lines if line.action == LineAction.ADD]
    problems: list[str] = []
    if order.step == Step.ACCEPTANCE and order.kind != OrderKind.CLOSURE:
        if not lines:
            problems.append(_("请先导入接电申请清单或添加变更点位。"))
        if order.kind == OrderKind.NEW_INSTALL and not any(line.is_base for line in adds):
            problems.append(_("新装工单须指定一个基准户点位。"))
        check = grouping_check(order=order, as_of=now.date())
        if not check.within_limit:
            problems.append(check.message)
    elif order.step == Step.SURVEY:
        missing_numbers = [line.name for line in adds if not line.account_number]
        if missing_numbers:
            problems.append(_("还有点位没有生成户号，请先“生成户号并解析接入点”。"))
        unplaced = [
            line.name
            for line in lines
            if line.action != LineAction.CANCEL and not line.access_point_id
        ]
        if unplaced:
            problems.append(
                _("以下点位还没有接入点和台区，请人工确认：%(names)s")
                % {"names": "、".join(unplaced[:20])}
            )
    elif order.step == Step.CONTRACT:
        contract = Contract.objects.filter(order=order).first()
        if contract is None or contract.signed_date is None:
            problems.append(_("合同尚未签订，不能进入接电环节。"))
    elif order.step == Step.CONNECTION:
        if order.connection_date is None:
            problems.append(_("请填写接电日期。"))
    elif order.step == Step.INSTALLATION:
        undated = [
            line.line_number
            for line in lines
            if line.action != LineAction.CHANGE and not line.installation_date
        ]
        if undated:
            problems.append(
                _("以下序号的点位还没有安装日期：%(lines)s")
                % {"lines": "、".join(str(number) for number in undated[:30])}
            )
    elif order.step == Step.REMOVAL:
        if order.closure_date is None:
            problems.append(_("请填写拆表（销户）日期。"))
    elif order.step == Step.ARCHIVE:
        present = set(order.documents.values_list("kind", flat=True))
        missing = [kind for kind in REQUIRED_DOCUMENTS[order.kind] if kind not in present]
        if missing:
            problems.append(
                _("还缺少归档资料：%(kinds)s")
                % {"kinds": "、".join(str(DocumentKind(kind).label) for kind in missing)}
            )
    return problems


def _apply_installation(order: WorkOrder, *, actor: User, now: dt.datetime) -> None:
    """The registry changes of the order, on the dates entered."""
    lines = list(order.lines.select_related("access_point", "point").order_by("line_number"))
    reason = str(order.get_kind_display())
    adds = [line for line in lines if line.action == LineAction.ADD]
    if order.kind == OrderKind.NEW_INSTALL:
        base = next(line for line in adds if line.is_base)
        assert order.device_type is not None and base.installation_date is not None
        group = group_create(
            actor=actor,
            unit=order.unit,
            customer=order.customer,
            device_type=order.device_type,
            meter_asset_number=order.meter_asset_number,
            meter_barcode=order.meter_barcode,
            meter_box_resource_number=order.meter_box_resource_number,
            ct_ratio=order.ct_ratio,
            tariff_code=order.tariff_code,
            meter_install_date=order.connection_date or base.installation_date,
            created_date=base.installation_date,
            base=_point_input(base),
            now=now,
            reason=reason,
            work_order=order.number,
        )
        order.group = group
        order.save(update_fields=["group"])
        adds = [line for line in adds if not line.is_base]
    assert order.group_id is not None
    if adds:
        sub_accounts_add(
            actor=actor,
            group_id=order.group_id,
            points=[_point_input(line) for line in adds],
            now=now,
            reason=reason,
            work_order=order.number,
        )
    for line in lines:
        if line.action == LineAction.CANCEL:
            assert line.point_id is not None and line.installation_date is not None
            sub_account_cancel(
                actor=actor,
                point_id=line.point_id,
                active_to_date=line.installation_date,
                now=now,
                reason=reason,
                work_order=order.number,
            )
        elif line.action == LineAction.CHANGE:
            assert line.point_id is not None
            point_update(
                actor=actor,
                point_id=line.point_id,
                now=now,
                reason=reason,
                work_order=order.number,
                name=line.name,
                device_address=line.device_address,
                access_point_number=line.access_point.number if line.access_point else None,
                effective_date=order.connection_date,
            )


def _point_input(line: WorkOrderLine) -> PointInput:
    return PointInput(
        name=line.name,
        device_address=line.device_address,
        nearby_number=line.nearby_number,
        access_point_number=line.access_point.number if line.access_point else "",
        account_number=line.account_number,
        active_from_date=line.installation_date,
    )


def order_step_complete(
    *,
    actor: User,
    order_id: int,
    now: dt.datetime,
    note: str = "",
    expected_version: int | None = None,
) -> WorkOrder:
    """Finish the current step and hand the order to the next one."""
    with transaction.atomic():
        order = WorkOrder.objects.filter(unit_scope(user=actor), pk=order_id).first()
        if order is None:
            raise OrderNotVisible(_("未找到该工单，或它不属于您所在单位及下属单位。"))
        if order.step == Step.DONE:
            raise UnableToProgressOrder(_("工单已办结。"))
        order = _locked_order(
            actor=actor, order_id=order_id, step=order.step, expected_version=expected_version
        )
        problems = _step_problems(order, now=now)
        if problems:
            raise UnableToProgressOrder(problems)
        try:
            if order.step == Step.INSTALLATION:
                _apply_installation(order, actor=actor, now=now)
            elif order.step == Step.REMOVAL:
                assert order.group_id is not None and order.closure_date is not None
                group_close(
                    actor=actor,
                    group_id=order.group_id,
                    closure_date=order.closure_date,
                    now=now,
                    reason=str(order.get_kind_display()),
                    work_order=order.number,
                )
            elif order.step == Step.CONNECTION:
                assert order.connection_date is not None
                try:
                    order.archive_due_date = add_working_days(
                        order.connection_date, ARCHIVE_WORKING_DAYS
                    )
                    order.archive_due_unknown = False
                except WorkingDaysUnknown:
                    order.archive_due_date = None
                    order.archive_due_unknown = True
        except UnableToChangeRegistry as error:
            raise UnableToProgressOrder(error.problems) from error
        if order.kind == OrderKind.CLOSURE and order.step == Step.REMOVAL:
            assert order.closure_date is not None
            try:
                order.archive_due_date = add_working_days(order.closure_date, ARCHIVE_WORKING_DAYS)
            except WorkingDaysUnknown:
                order.archive_due_unknown = True
        following = next_step(order)
        _event(order, actor=actor, kind=EventKind.COMPLETED, now=now, note=note,
               changes=[("step", order.step, following)])  # fmt: skip
        order.step = following
        if order.step == Step.DONE:
            order.completed_at = now
        order.save()
    return order


# Once the registry has changed, going back would change it twice.
APPLIED_STEPS = {Step.ARCHIVE}


def order_step_return(
    *,
    actor: User,
    order_id: int,
    reason: str,
    now: dt.datetime,
    expected_version: int | None = None,
) -> WorkOrder:
    """Send the order back to the previous step, with the reason."""
    with transaction.atomic():
        order = WorkOrder.objects.filter(unit_scope(user=actor), pk=order_id).first()
        if order is None:
            raise OrderNotVisible(_("未找到该工单，或它不属于您所在单位及下属单位。"))
        order = _locked_order(
            actor=actor, order_id=order_id, step=order.step, expected_version=expected_version
        )
        if not clean_text(reason):
            raise UnableToProgressOrder(FieldProblem(_("退回须填写原因。"), field="reason"))
        previous = previous_step(order)
        if previous is None:
            raise UnableToProgressOrder(_("受理环节是第一个环节，不能退回。"))
        if order.step in APPLIED_STEPS:
            raise UnableToProgressOrder(_("档案变更已生效，不能退回；如有错误请发起新的变更流程。"))
        _event(order, actor=actor, kind=EventKind.RETURNED, now=now, note=clean_text(reason),
               changes=[("step", order.step, previous)])  # fmt: skip
        order.step = previous
        order.save(update_fields=["step"])
    return order


def order_change_from_finding(
    *, actor: User, group_id: int, note: str, now: dt.datetime
) -> WorkOrder:
    """A change order started by a field finding (points added or removed on site). It waits
    at acceptance for the clerk; if the group already has an open order, the finding is
    noted on that one instead."""
    group = (
        Group.objects.filter(unit_scope(user=actor), pk=group_id)
        .select_related("customer", "device_type")
        .first()
    )
    if group is None:
        raise OrderNotVisible(_("未找到该群组，或它不属于您所在单位及下属单位。"))
    with transaction.atomic():
        order = WorkOrder.objects.filter(group=group).exclude(step=Step.DONE).first()
        if order is None:
            order = WorkOrder.objects.create(
                number=_order_number(now.astimezone(dt.UTC).date()),
                kind=OrderKind.CHANGE,
                unit=group.unit,
                customer=group.customer,
                group=group,
                device_type=group.device_type,
                step=Step.ACCEPTANCE,
                created_by=actor,
                created_at=now,
                note=clean_text(note)[:500],
            )
            _event(order, actor=actor, kind=EventKind.CREATED, now=now, note=note, changed=False)
        else:
            _event(order, actor=actor, kind=EventKind.NOTE, now=now, note=note, changed=False)
    return order
