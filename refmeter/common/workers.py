"""Recovery inside task workers: when a worker starts, and every half lease while it runs,
it retries or fails the jobs whose worker died (see ``refmeter.common.jobs``)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from django.db import DatabaseError, connections

from refmeter.common.health import worker_beat
from refmeter.common.jobs import JobRecovery, jobs_recover, lease_seconds

logger = logging.getLogger("refmeter.jobs")


def recover_now(*, clock: Callable[[], dt.datetime]) -> JobRecovery | None:
    """One recovery pass, which also records that this worker is alive (``/healthz``); a
    database that is busy or away is left for the next pass."""
    try:
        worker_beat(now=clock())
        return jobs_recover(now=clock())
    except DatabaseError:
        logger.warning("job recovery deferred", exc_info=True)
    except Exception:  # a worker keeps running whatever one pass ran into
        logger.exception("job recovery failed")
    return None


def recovery_start(*, clock: Callable[[], dt.datetime]) -> Callable[[], None]:
    """Run recovery every half lease in a daemon thread; returns the function stopping it."""
    stopped = threading.Event()

    def loop() -> None:
        try:
            while not stopped.wait(max(lease_seconds() / 2, 0.5)):
                recover_now(clock=clock)
        finally:
            connections.close_all()

    thread = threading.Thread(target=loop, name="job-recovery", daemon=True)
    thread.start()

    def stop() -> None:
        stopped.set()
        thread.join(timeout=2)

    return stop
