"""The outage SMS template: its placeholders, their check, and the filling in.

Plain text work, no database and no clock: the outage page's preview and the SMS that is
sent are both made by :func:`fill` from the same values (``selectors.notice_message``),
in the site's language whatever the language of the page, so that the preview is the
text that goes out, character for character.

A placeholder is a name in braces, ``{window}``; a brace that is not part of a known
placeholder is an error, so a typing slip never reaches a customer as ``{windw}``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

PLACEHOLDERS: dict[str, Promise] = {
    "utility": gettext_lazy("供电单位简称"),
    "customer": gettext_lazy("客户名称（一个号码对应几个客户时为“客户”）"),
    "reason": gettext_lazy("停电原因"),
    "window": gettext_lazy("停电时间，例如“11月10日 08:30 至 17:00”"),
    "start": gettext_lazy("停电开始时间，例如“11月10日 08:30”"),
    "end": gettext_lazy("停电结束时间"),
    "count": gettext_lazy("该号码下受影响的用电点个数"),
    "addresses": gettext_lazy("前 3 处设备地址，更多时加“等N处”"),
}
DEFAULT_TEMPLATE = (
    "【{utility}】尊敬的{customer}：因{reason}，{window}停电，"
    "贵单位{count}个用电点受影响：{addresses}。请提前做好准备。"
)
MAX_TEMPLATE_LENGTH = 300
MAX_MESSAGE_LENGTH = 500  # the notice's column
ADDRESSES_IN_MESSAGE = 3
ADDRESS_LENGTH = 40

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _named(names: Sequence[str]) -> str:
    return "、".join("{" + name + "}" for name in names)


def template_problems(text: str) -> list[str]:
    """Why a template cannot be saved; empty when it can."""
    if not text.strip():
        return [_("请填写模板内容。")]
    problems = []
    if len(text) > MAX_TEMPLATE_LENGTH:
        problems.append(
            _("模板不能超过 %(limit)d 个字（现有 %(count)d 个）。")
            % {"limit": MAX_TEMPLATE_LENGTH, "count": len(text)}
        )
    used = _PLACEHOLDER.findall(text)
    unknown = [name for name in dict.fromkeys(used) if name not in PLACEHOLDERS]
    if unknown:
        problems.append(
            _("未知的占位符：%(unknown)s。可用的占位符：%(known)s。")
            % {"unknown": _named(unknown), "known": _named(list(PLACEHOLDERS))}
        )
    if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
        problems.append(_("花括号只能成对用于占位符，例如 {window}；请检查是否漏写或多写了括号。"))
    if "window" not in used and not {"start", "end"} <= set(used):
        problems.append(_("模板须写明停电时间：{window}（或 {start} 和 {end}）。"))
    if "addresses" not in used and "count" not in used:
        problems.append(_("模板须写明受影响的用电点：{count} 或 {addresses}。"))
    return problems


def fill(text: str, values: Mapping[str, str]) -> str:
    """The template with each placeholder replaced by its value, cut to the column's
    length. Only a template without problems is filled (unknown names stay as typed)."""
    filled = _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)
    return filled[:MAX_MESSAGE_LENGTH]


def moment_text(moment: dt.datetime) -> str:
    """``11月10日 08:30`` (a local time)."""
    return _("%(month)d月%(day)d日 %(time)s") % {
        "month": moment.month,
        "day": moment.day,
        "time": f"{moment:%H:%M}",
    }


def window_text(start: dt.datetime, end: dt.datetime) -> str:
    """``11月10日 08:30 至 17:00``, or with the end's day when it is another day."""
    until = f"{end:%H:%M}" if start.date() == end.date() else moment_text(end)
    return _("%(start)s 至 %(end)s") % {"start": moment_text(start), "end": until}


def addresses_text(addresses: Sequence[str]) -> str:
    """The first few distinct addresses, then ``等N处`` when there are more (N counting
    every distinct address)."""
    distinct = list(dict.fromkeys(address.strip() for address in addresses if address.strip()))
    shown = [
        address if len(address) <= ADDRESS_LENGTH else address[: ADDRESS_LENGTH - 1] + "…"
        for address in distinct[:ADDRESSES_IN_MESSAGE]
    ]
    text = "、".join(shown)
    if len(distinct) > ADDRESSES_IN_MESSAGE:
        text += _("等%(count)d处") % {"count": len(distinct)}
    return text
