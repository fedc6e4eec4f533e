from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.billing.services import RunResult, UnableToBill, billing_run, billing_run_close
from refmeter.organisations.management.actor import command_actor
from refmeter.organisations.permissions import ActionNotAllowed


class Command(BaseCommand):
    help = (
        "Bill a month, one run per supply unit (of --user's units, else the whole company); "
        "--close then closes each unit's month, refused while a group is unbilled unless "
        "--allow-unbilled."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--period", required=True, help="YYYY-MM, a month that has ended")
        parser.add_argument("--user", help="bill as this user (only their units' groups)")
        parser.add_argument("--close", action="store_true", help="close the month after billing")
        parser.add_argument(
            "--allow-unbilled",
            action="store_true",
            help="with --close: close even though some groups could not be billed",
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(options["user"]) if options["user"] else None
        now = timezone.now()
        try:
            results = billing_run(
                actor=actor,
                period=options["period"],
                now=now,
                progress=lambda done, total: print(
                    f"\r出账 {done}/{total}", end="", file=sys.stderr
                ),
            )
        except (UnableToBill, ActionNotAllowed) as error:
            self._fail(options, [str(error)])
        print(file=sys.stderr)
        if options["close"]:
            results = self._close(actor, results, now, options)
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {"period": results[0].period, "runs": [r.as_dict() for r in results]},
                    ensure_ascii=False,
                )
            )
            return
        for result in results:
            note = "（已关账，未重算）" if result.unchanged else ""
            state = "已关账" if result.status == "closed" else "试算"
            self.stdout.write(
                f"{result.unit} {result.period} {state}{note}：{result.bills} 户出账，"
                f"结算电量 {result.total_energy} kWh，应收 {result.total_amount} 元；"
                f"未出账 {result.unbilled} 户。"
            )
            for problem in result.problems[:20]:
                self.stdout.write(f"  {problem['message']}")

    def _close(
        self, actor: Any, results: list[RunResult], now: Any, options: dict[str, Any]
    ) -> list[RunResult]:
        open_runs = [r for r in results if r.status != "closed"]
        if not options["allow_unbilled"]:
            refused = [r for r in open_runs if r.unbilled]
            if refused:
                self._fail(
                    options,
                    [
                        f"{r.unit} {r.period} 还有 {r.unbilled} 户未出账，未关账"
                        "（处理后重试，或加 --allow-unbilled 确认关账）。"
                        for r in refused
                    ]
                    + [p["message"] for r in refused for p in r.problems[:20]],
                )
        closed: dict[int, RunResult] = {}
        refusals: list[str] = []
        for run in open_runs:
            try:
                closed[run.run_id] = billing_run_close(
                    actor=actor, run_id=run.run_id, now=now,
                    allow_unbilled=options["allow_unbilled"],
                )  # fmt: skip
            except (UnableToBill, ActionNotAllowed) as error:
                # Someone closed it meanwhile (or may not): say so, keep closing the others.
                refusals.append(str(error))
        if refusals:
            self._fail(options, refusals)
        return [closed.get(r.run_id, r) for r in results]

    def _fail(self, options: dict[str, Any], problems: list[str]) -> NoReturn:
        if options["format"] == "json":
            self.stdout.write(json.dumps({"errors": problems}, ensure_ascii=False))
        raise CommandError("\n".join(problems))
