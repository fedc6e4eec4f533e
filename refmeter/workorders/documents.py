"""The order's printable lists: the point site-confirmation list (attachment 5), which
doubles as the connection work order, and the sub-account annex of the contract."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.common.pdf import Fields, Heading, PrintDocument, Signatures, Space, Table, Text
from refmeter.registry.models import Point, PointKind
from refmeter.spreadsheets.documents import ListDocument
from refmeter.workorders.models import LineAction, WorkOrder


def _base_account_number(order: WorkOrder) -> str:
    if order.group_id:
        return (
            Point.objects.filter(group_id=order.group_id, kind=PointKind.BASE)
            .values_list("account_number", flat=True)
            .first()
            or ""
        )
    base = order.lines.filter(is_base=True).values_list("account_number", flat=True).first()
    return base or ""


def confirmation_list(order: WorkOrder) -> ListDocument:
    """点位现场确认清单: No. | account | name | device address | nearby number | access point
    number | access point name | change | date | base account."""
    base = _base_account_number(order)
    change_words = {
        LineAction.ADD: _("新装"),
        LineAction.CANCEL: _("取消"),
        LineAction.CHANGE: _("变更"),
    }
    lines = order.lines.select_related("access_point").order_by("line_number")
    rows = [
        [
            line.line_number,
            line.account_number,
            order.customer.name,
            f"{line.name}（{line.device_address}）",
            line.nearby_number,
            line.access_point.number if line.access_point else "",
            line.access_point.name if line.access_point else "",
            change_words[line.action],  # type: ignore[index]
            line.installation_date or "",
            base,
        ]
        for line in lines
    ]
    return ListDocument(
        title=_("点位现场确认清单"),
        header=[
            _("序号"),
            _("户号"),
            _("户名"),
            _("设备地址"),
            _("就近户号"),
            _("接入点编号"),
            _("接入点名称"),
            _("变更"),
            _("日期"),
            _("基准户号"),
        ],
        rows=rows,
        meta=[
            (_("工单号"), order.number),
            (_("客户"), order.customer.name),
            (_("设备类型"), order.device_type.name if order.device_type else ""),
            (_("基准户号"), base),
        ],
        signatures=[_("客户签章"), _("勘察人员"), _("装接人员"), _("日期")],
        widths=[0.5, 1.2, 1.6, 3.2, 1.2, 1.9, 2.2, 0.6, 1.1, 1.2],
        footnote=_("本清单兼作接电工作单。现场核对设备类型、所属基准户、供电条件与清单完整性。"),
    )


def contract_annex(order: WorkOrder) -> ListDocument:
    """虚拟子户清单 (annex of the supply contract): the group's points after this order."""
    base = _base_account_number(order)
    cancelled = set(
        order.lines.filter(action=LineAction.CANCEL).values_list("account_number", flat=True)
    )
    rows: list[list[object]] = []
    if order.group_id:
        existing = (
            Point.objects.filter(group_id=order.group_id)
            .exclude(status="cancelled")
            .exclude(account_number__in=cancelled)
            .select_related("access_point", "area")
            .order_by("kind", "account_number")
        )
        for point in existing:
            rows.append(
                [
                    point.account_number,
                    point.get_kind_display(),
                    point.name,
                    point.device_address,
                    point.access_point.number if point.access_point else "",
                    point.area.name if point.area else "",
                ]
            )
    for line in order.lines.filter(action=LineAction.ADD).select_related("access_point", "area"):
        rows.append(
            [
                line.account_number,
                _("基准户") if line.is_base else _("虚拟子户"),
                line.name,
                line.device_address,
                line.access_point.number if line.access_point else "",
                line.area.name if line.area else "",
            ]
        )
    numbered = [[index, *row] for index, row in enumerate(rows, start=1)]
    return ListDocument(
        title=_("供用电合同附件：虚拟子户清单"),
        header=[
            _("序号"),
            _("户号"),
            _("户类型"),
            _("户名"),
            _("设备地址"),
            _("接入点编号"),
            _("台区"),
        ],
        rows=numbered,
        meta=[
            (_("工单号"), order.number),
            (_("客户"), order.customer.name),
            (_("基准户号"), base),
            (_("设备类型"), order.device_type.name if order.device_type else ""),
            (_("用电点总数（综合倍率）"), str(len(rows))),
        ],
        signatures=[_("供电人（盖章）"), _("用电人（盖章）"), _("日期")],
        widths=[0.5, 1.2, 0.9, 2.6, 3.4, 1.9, 1.8],
    )


def acceptance_form(order: WorkOrder) -> PrintDocument:
    """受理单: the application as accepted at the service hall, with its list, for the
    customer and the clerk to sign."""
    customer = order.customer
    device = order.device_type
    clerk = order.created_by
    words = {LineAction.ADD: _("新装"), LineAction.CANCEL: _("取消"), LineAction.CHANGE: _("变更")}
    lines = order.lines.order_by("line_number")
    return PrintDocument(
        title=_("参考表客户业务受理单"),
        subtitle=_("工单号 %(number)s · 受理时间 %(at)s")
        % {"number": order.number, "at": f"{timezone.localtime(order.created_at):%Y-%m-%d %H:%M}"},
        blocks=[
            Fields(
                pairs=[
                    (_("业务类型"), order.get_kind_display()),
                    (_("供电单位"), order.unit.name),
                    (_("户名"), customer.name),
                    (_("证件号码"), customer.registration_number),
                    (_("通信地址"), customer.address),
                    (_("邮编"), customer.postcode),
                    (_("联系电话"), customer.phone),
                    (_("短信号码"), order.sms_number),
                    (_("经办人"), order.handler_name),
                    (_("经办人身份证号"), order.handler_id_number),
                    (_("经办人电话"), order.handler_phone),
                    (
                        _("停电联系人"),
                        f"{order.outage_contact_name} {order.outage_contact_phone}".strip(),
                    ),
                    (_("参考表户号"), _base_account_number(order)),
                    (_("申请虚拟点数"), order.points_applied),
                    (_("设备类型"), device.name if device else ""),
                    (_("单点额定功率"), f"{device.rated_watts:g} W" if device else ""),
                    (_("受理人"), (clerk.get_full_name() or clerk.get_username()) if clerk else ""),
                    (_("申请说明"), order.note),
                ]
            ),
            Heading(_("接电申请清单")),
            Table(
                header=[
                    _("序号"),
                    _("变更"),
                    _("点位名称"),
                    _("接电位置"),
                    _("就近户号/局号"),
                    _("户号"),
                ],
                rows=[
                    [
                        line.line_number,
                        words.get(LineAction(line.action), line.action),
                        line.name,
                        line.device_address,
                        line.nearby_number,
                        line.account_number,
                    ]
                    for line in lines
                ],
                widths=[0.5, 0.6, 2.4, 3.6, 1.4, 1.2],
            ),
            Text(
                _(
                    "客户承诺：所报点位真实完整；新增、拆除点位须经变更申请；"
                    "未经登记的接电按窃电处理。"
                )
            ),
            Space(4),
            Signatures(labels=[_("客户签章"), _("受理人"), _("日期")]),
        ],
        footer=f"{_('受理单')} {order.number}",
    )
