"""``refmeter purge-uploads``: delete stored import files past their retention (for cron)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from refmeter.common.uploads import retention_days, uploads_purge


class Command(BaseCommand):
    help = (
        "Delete uploaded import files older than REFMETER_UPLOAD_RETENTION_DAYS "
        "(refused uploads are deleted at once)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, help="keep files this many days instead")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else retention_days()
        if days < 0:
            raise CommandError(_("保留天数不能为负数。"))
        deleted = uploads_purge(now=timezone.now(), days=days)
        if options["format"] == "json":
            self.stdout.write(json.dumps({"deleted": deleted, "days": days}))
            return
        self.stdout.write(
            _("已删除超过 %(days)d 天的上传文件 %(count)d 个。")
            % {"days": days, "count": len(deleted)}
        )
