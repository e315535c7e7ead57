"""``backcoach run`` with a platform configured: the long-running service.

One process holds the database, the check-in scheduler, one sender and every configured
transport. SIGTERM or SIGINT stops it gracefully: no new updates, the sends in flight
finish and are recorded, the database closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.app import Coach
from bot.clock import SystemClock
from bot.config import Config
from bot.ratelimit import RateLimit
from bot.transport import Transport
from scheduler.jobs import build_scheduler

log = logging.getLogger(__name__)


def has_platform(config: Config) -> bool:
    return bool(config.telegram_token)


async def serve(config: Config, stop: asyncio.Event | None = None) -> int:
    from bot.telegram.runner import TelegramRunner, build_application

    stop = stop or _stop_on_signals()
    transports: list[Transport] = []
    limits: dict[str, RateLimit] = {}
    application = build_application(config) if config.telegram_token else None
    if application is not None:
        from bot.telegram.transport import PREFIX, TelegramTransport

        limits[PREFIX] = RateLimit(per_second=config.telegram_rate)
        transports.append(TelegramTransport(application.bot, limits[PREFIX]))
    coach = Coach(config, SystemClock(), transports, limits=limits)
    telegram = (
        TelegramRunner(application, coach.service, config, coach.healthy)
        if application is not None
        else None
    )
    await coach.start()
    scheduler = build_scheduler(coach.tick, config.tick_seconds, retention=coach.retention)
    sender = asyncio.create_task(coach.sender.run(), name="sender")
    try:
        if telegram is not None:
            await telegram.start()
        scheduler.start()
        await coach.tick()  # check-ins missed while the bot was down, at once
        log.info("backcoach is running; stop with Ctrl-C or SIGTERM")
        await stop.wait()
    finally:
        log.info("stopping: no new updates, finishing the sends in flight")
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if telegram is not None:
            await telegram.stop()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        await coach.close()
    return 0


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on every platform
            loop.add_signal_handler(sig, stop.set)
    return stop
