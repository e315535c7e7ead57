"""``backcoach run`` with a platform configured: the long-running service.

One process holds the database, the check-in scheduler, one sender and every configured
transport. SIGTERM or SIGINT stops it gracefully: no new updates, the sends in flight
finish and are recorded, the database closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot import metrics
from bot.app import Coach
from bot.clock import SystemClock
from bot.config import Config
from bot.ratelimit import RateLimit
from bot.telegram.webhook import ops_server
from bot.transport import Transport
from scheduler.jobs import build_scheduler

log = logging.getLogger(__name__)


def has_platform(config: Config, env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(config.telegram_token or env.get("MATRIX_HOMESERVER"))


async def serve(
    config: Config, stop: asyncio.Event | None = None, env: Mapping[str, str] | None = None
) -> int:
    """Telegram and Matrix as configured, in one process sharing database and scheduler."""
    from bot import matrix
    from bot.telegram.runner import TelegramRunner, build_application

    matrix_settings = matrix.from_env(os.environ if env is None else env)  # ConfigError
    stop = stop or _stop_on_signals()
    transports: list[Transport] = []
    limits: dict[str, RateLimit] = {}
    application = build_application(config) if config.telegram_token else None
    if application is not None:
        from bot.telegram.transport import PREFIX, TelegramTransport

        limits[PREFIX] = RateLimit(per_second=config.telegram_rate)
        transports.append(TelegramTransport(application.bot, limits[PREFIX]))
    matrix_transport = (
        matrix.build_transport(config, matrix_settings) if matrix_settings is not None else None
    )
    if matrix_transport is not None:
        transports.append(matrix_transport)
    coach = Coach(config, SystemClock(), transports, limits=limits)
    telegram = (
        TelegramRunner(application, coach.service, config, coach.healthy)
        if application is not None
        else None
    )
    await coach.start()
    scheduler = build_scheduler(
        coach.tick, config.tick_seconds, retention=coach.retention, digest=coach.digest
    )
    sender = asyncio.create_task(coach.sender.run(), name="sender")
    gauges = asyncio.create_task(metrics.keep_fresh(coach.db, coach.clock), name="metrics")
    ops = await _ops_server(config, coach) if not config.webhook_url else None
    receiving: asyncio.Task[None] | None = None
    try:
        if telegram is not None:
            await telegram.start()
        if matrix_transport is not None:
            receiving = asyncio.create_task(
                matrix.run_matrix(coach, matrix_transport, stop), name="matrix"
            )
        scheduler.start()
        await coach.tick()  # check-ins missed while the bot was down, at once
        log.info("backcoach is running; stop with Ctrl-C or SIGTERM")
        waiting: set[asyncio.Future[Any]] = {asyncio.ensure_future(stop.wait())}
        if receiving is not None:
            waiting.add(receiving)  # a failed Matrix login ends the process, loudly
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if receiving is not None and receiving.done():
            receiving.result()
    finally:
        log.info("stopping: no new updates, finishing the sends in flight")
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if telegram is not None:
            await telegram.stop()
        stop.set()
        if receiving is not None:
            with contextlib.suppress(Exception):
                await receiving
        gauges.cancel()
        if ops is not None:
            await ops.cleanup()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        await coach.close()
    return 0


async def _ops_server(config: Config, coach: Coach) -> web.AppRunner | None:
    """In polling mode nothing listens; with BACKCOACH_METRICS_PORT, /healthz and /metrics do."""
    if config.metrics_port is None:
        return None
    runner = web.AppRunner(ops_server(coach.healthy), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, config.listen_host, config.metrics_port).start()
    return runner


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on every platform
            loop.add_signal_handler(sig, stop.set)
    return stop
