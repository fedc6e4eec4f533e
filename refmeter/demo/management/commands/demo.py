from __future__ import annotations

import os
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refmeter.demo.generator import DEMO_PASSWORD, DEMO_USERS, demo_is_loaded, load_demo


def start_task_worker() -> threading.Thread:
    """The embedded default runs its task worker in-process; production runs
    ``refmeter db_worker`` processes instead."""
    from django_tasks_db.management.commands.db_worker import Worker

    from refmeter.common.workers import recover_now, recovery_start

    worker = Worker(
        queue_names=["*"],
        interval=1,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="demo-in-process",
        excluded_queue_names=[],
    )
    thread = threading.Thread(target=worker.run, name="task-worker", daemon=True)
    recover_now(clock=timezone.now)
    recovery_start(clock=timezone.now)
    thread.start()
    return thread


class Command(BaseCommand):
    help = "Start refmeter with demo data (loaded once) on the configured database."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-server", action="store_true", help="prepare the database and stop"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if getattr(settings, "PRODUCTION", False):
            raise CommandError("demo 命令只用于开发与演示环境，生产环境请使用 gunicorn。")
        self.stdout.write("准备数据库……")
        call_command("migrate", interactive=False, verbosity=0)
        if not demo_is_loaded():
            self.stdout.write("首次启动：装入演示数据（约一分钟）……")
            summary = load_demo(
                today=timezone.localdate(),
                now=timezone.now(),
                progress=lambda message: self.stdout.write(f"  {message}"),
            )
            self.stdout.write(f"  {summary.groups} 个群组，{summary.points_active} 个在用用电点。")
        url = f"http://{options['host']}:{options['port']}/"
        if not os.environ.get("REFMETER_LABEL_BASE_URL"):
            # Labels printed from this demo open this demo, on whatever port it serves.
            settings.REFMETER_LABEL_BASE_URL = url.rstrip("/")
        self.stdout.write("")
        self.stdout.write(f"refmeter 已就绪：{url}")
        self.stdout.write(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
        for username, full_name, role, unit_code in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {role.label}（{full_name}，单位 {unit_code}）")
        self.stdout.write(
            f"标签二维码打开：{settings.REFMETER_LABEL_BASE_URL}/s/…"
            "（手机扫码需可访问的地址，可用 REFMETER_LABEL_BASE_URL 指定）"
        )
        self.stdout.write(f"接口文档：{url}api/v1/docs    按 Ctrl+C 停止。")
        if options["no_server"]:
            return
        start_task_worker()
        self.stdout.write("后台任务处理程序已在本进程中启动。")
        call_command(
            "runserver",
            f"{options['host']}:{options['port']}",
            use_reloader=False,
            skip_checks=True,
        )
