"""The few global APScheduler jobs; the truth about who is due lives in the database."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)


def build_scheduler(
    checkin_tick: Callable[[], Awaitable[object]], tick_seconds: float
) -> AsyncIOScheduler:
    """One check-in tick at a fixed interval; overlapping runs are coalesced, not stacked."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        checkin_tick,
        IntervalTrigger(seconds=tick_seconds),
        id="checkin-tick",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    return scheduler
