from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from refmeter.labels.layouts import DEFAULT_LAYOUT, UnknownLayout
from refmeter.labels.selectors import targets_for_group
from refmeter.labels.services import UnableToIssueLabels
from refmeter.labels.tasks import print_labels_to_file
from refmeter.registry.models import Point, PointKind


class Command(BaseCommand):
    help = "Issue and print the labels of a group (a reprint voids its earlier labels)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--group", required=True, help="the base account number")
        parser.add_argument("--out", required=True, help="the PDF to write")
        parser.add_argument("--layout", default=DEFAULT_LAYOUT)
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        base = (
            Point.objects.filter(account_number=options["group"], kind=PointKind.BASE)
            .values_list("group_id", flat=True)
            .first()
        )
        if base is None:
            raise CommandError(f"没有基准户户号为 {options['group']} 的群组。")
        path = Path(options["out"])
        targets = targets_for_group(user=None, group_id=base)
        try:
            count = print_labels_to_file(
                user=None,
                targets=targets,
                layout_name=options["layout"],
                batch=f"cli:group:{options['group']}",
                path=path,
            )
        except (UnknownLayout, UnableToIssueLabels) as error:
            raise CommandError(str(error)) from error
        except OSError as error:
            raise CommandError(f"无法写入 {path}：{error.strerror}") from error
        if options["format"] == "json":
            self.stdout.write(json.dumps({"file": str(path), "labels": count}))
        else:
            self.stdout.write(f"已生成 {count} 张标签：{path}")
