"""The few global APScheduler jobs; the truth about who is due lives in the database."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[object]]
# Retention runs at a quiet hour in Europe, the bulk of the users; a fixed time of day
# (not "every 24 h from start") so a bot restarted daily still runs it.
RETENTION_AT = {"hour": 3, "minute": 17}


def build_scheduler(
    checkin_tick: Job,
    tick_seconds: float,
    retention: Job | None = None,
    digest: Job | None = None,
) -> AsyncIOScheduler:
    """The check-in tick at a fixed interval and, when given, the daily retention job.

    Overlapping runs are coalesced, not stacked; a run that starts late (a busy loop)
    still runs. Retention is idempotent, so a second replica running it too is harmless.
    """
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        checkin_tick,
        IntervalTrigger(seconds=tick_seconds),
        id="checkin-tick",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    if retention is not None:
        scheduler.add_job(
            retention,
            CronTrigger(**RETENTION_AT, timezone="UTC"),
            id="retention",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    if digest is not None:
        # Hourly: it does nothing until an issue is due (or one was left unfinished).
        scheduler.add_job(
            digest,
            IntervalTrigger(hours=1),
            id="digest",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    return scheduler
