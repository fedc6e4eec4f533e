"""Optimistic concurrency: telling someone whose save was based on an older version what was
saved meanwhile. The version itself is :class:`refmeter.common.models.Versioned`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

MAX_LISTED = 10


@dataclass(frozen=True)
class Meanwhile:
    """One change saved after the version someone read: when, who, what, which fields."""

    occurred_at: dt.datetime
    actor_name: str
    action: str
    fields: tuple[tuple[str, str, str], ...] = ()  # (label, before, after), for people
    note: str = ""

    @property
    def when(self) -> str:
        return f"{timezone.localtime(self.occurred_at):%Y-%m-%d %H:%M}"

    def __str__(self) -> str:
        detail = "；".join(
            _("%(field)s “%(before)s” → “%(after)s”")
            % {"field": field, "before": before, "after": after}
            for field, before, after in self.fields
        )
        detail = detail or self.note
        who = self.actor_name or _("系统")
        heading = f"{self.when} {who} {self.action}"
        return f"{heading}：{detail}" if detail else heading


def stale_version_problems(*, heading: str, changes: Sequence[Meanwhile]) -> list[str]:
    """The lines of a refusal: the heading, each change meanwhile (oldest first, the last
    ten at most), and what to do."""
    lines = [heading]
    if len(changes) > MAX_LISTED:
        lines.append(_("（更早的 %(count)d 次修改从略）") % {"count": len(changes) - MAX_LISTED})
    lines.extend(str(change) for change in changes[-MAX_LISTED:])
    lines.append(_("请核对以上修改后重新提交。"))
    return lines
