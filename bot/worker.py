"""``python -m bot.worker``: one more sender for a shared PostgreSQL outbox.

Runs the outbox sender (and, with ``BACKCOACH_WORKER_TICK=1``, the check-in tick) for
Telegram until SIGTERM or SIGINT; no updates are received here (that stays with
``backcoach run``). Start as many as needed: they share the outbox through leases (see
``bot.sender``). Settings are the usual ones (``BACKCOACH_DATABASE_URL``,
``TELEGRAM_BOT_TOKEN``, ``TELEGRAM_BASE_URL``, ``TELEGRAM_MAX_PER_SECOND`` — per worker),
and:

- ``BACKCOACH_WORKER_ID``: the lease holder's name (default ``host:pid``); keep it
  stable across restarts of the same worker so its start-up recovery finds its rows;
- ``BACKCOACH_LEASE_SECONDS``: how long a claimed row is this worker's (default 60);
- ``BACKCOACH_DATABASE_SCHEMA``: a PostgreSQL schema to work in (e.g. a test's);
- ``BACKCOACH_WORKER_TICK``: ``1`` to run the check-in tick every
  ``BACKCOACH_TICK_SECONDS`` too (one planner at a time, by an advisory lock).

Shutdown: no new claims, the sends in flight finish (or their leases are released after
the drain timeout), the database closes. Exit status 0, or 2 for a bad setting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping

from sqlalchemy import func, select

from bot.clock import SystemClock
from bot.config import Config, ConfigError, load_config
from bot.db.database import Database, _run_upgrade
from bot.leases import LEASE_SECONDS
from bot.logs import configure
from bot.ratelimit import RateLimit
from bot.sender import Sender
from scheduler import checkins

log = logging.getLogger("bot.worker")

MIGRATION_LOCK = 0x6B63_6D69  # one worker at a time brings the schema to head


async def run_worker(config: Config, env: Mapping[str, str], stop: asyncio.Event) -> int:
    from bot.telegram.runner import build_application
    from bot.telegram.transport import PREFIX, TelegramTransport

    if not config.telegram_token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: the worker has nothing to send with")
    try:
        lease = float(env.get("BACKCOACH_LEASE_SECONDS", str(LEASE_SECONDS)))
    except ValueError:
        raise ConfigError("BACKCOACH_LEASE_SECONDS must be a number of seconds") from None
    db = Database(config.db_url, schema=env.get("BACKCOACH_DATABASE_SCHEMA") or None)
    bot = build_application(config).bot
    limit = RateLimit(per_second=config.telegram_rate)
    clock = SystemClock()
    sender = Sender(
        db,
        {PREFIX: TelegramTransport(bot, limit)},
        clock,
        limits={PREFIX: limit},
        lease=lease,
        worker_id=env.get("BACKCOACH_WORKER_ID") or None,
    )
    ticking: asyncio.Task[None] | None = None
    try:
        await _upgrade(db)
        await bot.initialize()
        await sender.recover()
        sending = asyncio.create_task(sender.run(), name="sender")
        if env.get("BACKCOACH_WORKER_TICK", "") == "1":
            ticking = asyncio.create_task(_tick_forever(config, db, sender), name="tick")
        log.info("worker %s is sending; stop with SIGTERM", sender.worker_id)
        await stop.wait()
        log.info(
            "worker %s stopping: no new claims, finishing the sends in flight", sender.worker_id
        )
        if ticking is not None:
            ticking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticking
        sending.cancel()  # Sender.run drains on the way out
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        log.info(
            "worker %s stopped: %d sent, %d taken over from expired leases",
            sender.worker_id,
            sender.sent,
            sender.taken_over,
        )
    finally:
        with contextlib.suppress(Exception):
            await bot.shutdown()
        await db.dispose()
    return 0


async def _upgrade(db: Database) -> None:
    """Alembic to head; on PostgreSQL under a lock, since workers start together."""
    async with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            await connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        await connection.run_sync(_run_upgrade, "head")


async def _tick_forever(config: Config, db: Database, sender: Sender) -> None:
    from bot.app import load_all_content
    from bot.service import Defaults, Service

    content, intents = load_all_content(config.content_dir)
    defaults = Defaults(lang=config.default_lang, tz=config.default_tz)
    service = Service(db, content, intents, sender.clock, defaults, on_outbox=sender.notify)
    while True:
        try:
            await checkins.tick(db, service, sender.clock.now())
            sender.notify()
        except Exception:
            log.exception("check-in tick failed; trying again")
        await asyncio.sleep(config.tick_seconds)


def main() -> int:
    env = dict(os.environ)
    try:
        config = load_config(env)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    # The shared setup: httpx at WARNING (its request URLs carry the bot token), the
    # configured format, the conversation key on each line.
    configure(config.log_level, config.log_format)

    async def start() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_worker(config, env, stop)

    try:
        return asyncio.run(start())
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
