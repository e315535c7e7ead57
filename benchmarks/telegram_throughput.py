"""Telegram through real PTB and the local Bot API server (tests/support), on SQLite.

    python -m benchmarks.telegram_throughput [--updates=2000] [--burst=10000] [--rate=250]

1. Updates handled end to end: updates per second, and CPU per update split between our
   code, PTB and the rest (profiled run; the profiler inflates all, the split is the point).
2. A burst of scheduled messages to as many chats at ``--rate`` per second (the configured
   limit, enforced by the server too): the sent rate as a share of it, and the 429 count.
3. During that burst, people write: update to sendMessage, median and p99 (target < 1 s).
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert

from bot import store
from bot.db.models import OutboxRow
from bot.ratelimit import RateLimit
from tests.support.telegram_api import FakeTelegramApi
from tests.support.telegram_coach import CoachOnTelegram

ROOT = Path(__file__).resolve().parent.parent


def _arg(name: str, default: int) -> int:
    return int(next((a.split("=", 1)[1] for a in sys.argv if a.startswith(f"--{name}=")), default))


async def updates_per_second(count: int) -> None:
    async with FakeTelegramApi() as api:
        api.limits.enabled = False
        fast = RateLimit(per_second=100_000, per_chat_per_second=1000, chat_burst=1000)
        with tempfile.TemporaryDirectory() as tmp:
            async with CoachOnTelegram(api, Path(tmp), limit=fast) as bot:
                await _push(bot, api, 200)  # warm up: imports, connections, first users
                started = time.perf_counter()
                await _push(bot, api, count)
                wall = time.perf_counter() - started
                profile = cProfile.Profile()
                profile.enable()
                await _push(bot, api, count)
                profile.disable()
    print(f"updates end to end: {count / wall:,.0f} per second ({wall / count * 1000:.2f} ms each)")
    shares = _cpu_by_part(profile)
    total = sum(shares.values())
    parts = ", ".join(f"{part} {seconds / count * 1000:.2f} ms" for part, seconds in shares.items())
    print(f"  CPU per update (profiled, {total / count * 1000:.2f} ms in all): {parts}")


async def _push(bot: CoachOnTelegram, api: FakeTelegramApi, count: int) -> None:
    for i in range(count):
        api.push_message(20_000 + i % 500, "/help")
    bot.pushed += count
    await bot.settled(timeout=600)


def _cpu_by_part(profile: cProfile.Profile) -> dict[str, float]:
    parts: dict[str, float] = defaultdict(float)
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.items():
        parts[_part(filename)] += tottime
    return dict(sorted(parts.items(), key=lambda item: -item[1]))


def _part(filename: str) -> str:
    if "/site-packages/telegram/" in filename:
        return "PTB"
    if "/tests/support/" in filename or "/aiohttp/" in filename:
        return "local Bot API server"
    if "site-packages" not in filename and any(
        str(ROOT / part) in filename for part in ("bot", "dialogs", "content", "scheduler")
    ):
        return "backcoach"
    if "sqlalchemy" in filename or "sqlite" in filename:
        return "SQLAlchemy+SQLite"
    if "httpx" in filename or "httpcore" in filename or "h11" in filename:
        return "httpx"
    return "asyncio+other"


async def burst(count: int, rate: int) -> None:
    async with FakeTelegramApi() as api:
        api.limits.per_second = rate
        chats = range(100_000, 100_000 + count)
        for chat in chats:
            api.add_user(chat)
        limit = RateLimit(per_second=rate)
        with tempfile.TemporaryDirectory() as tmp:
            async with CoachOnTelegram(api, Path(tmp), limit=limit) as bot:
                now = bot.clock.now()
                async with bot.coach.db.session() as session:
                    rows = [_bulk_row(chat, now) for chat in chats]
                    for start in range(0, count, 2000):
                        await session.execute(insert(OutboxRow), rows[start : start + 2000])
                started = time.monotonic()
                bot.coach.sender.notify()
                latencies = await _writers_during(bot, api, lambda: _bulk_left(api, count))
                await bot.settled(timeout=count / rate * 3 + 60)
                elapsed = time.monotonic() - started
    sent = [c for c in api.calls_of("sendMessage", ok=True) if c.chat_id in chats]
    floods = len(api.calls_of("sendMessage", ok=False))
    span = sent[-1].received_at - sent[0].received_at
    achieved = (len(sent) - 1) / span
    print(
        f"burst of {count:,} to {count:,} chats at a limit of {rate}/s: {achieved:.1f}/s "
        f"= {achieved / rate:.1%} of the limit (target >= 95%), {floods} answers 429 "
        f"(target 0), {elapsed:.0f} s in all"
    )
    p50 = statistics.median(latencies)
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 2 else p50
    print(
        f"  replies during the burst ({len(latencies)} people): update to sendMessage "
        f"median {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (target p99 < 1 s)"
    )


def _bulk_row(chat: int, now: object) -> dict[str, object]:
    return {
        "key": f"bench:{chat}",
        "user_id": None,
        "address": f"telegram:{chat}",
        "kind": "message",
        "payload": {"text": "Issue 1: the most-read articles", "options": []},
        "priority": store.BULK,
        "status": "pending",
        "not_before": now,
        "attempts": 0,
        "created_at": now,
    }


def _bulk_left(api: FakeTelegramApi, count: int) -> bool:
    return len(api.calls_of("sendMessage", ok=True)) < count * 0.9


async def _writers_during(
    bot: CoachOnTelegram, api: FakeTelegramApi, running: Callable[[], bool]
) -> list[float]:
    """One person writes every 200 ms while the burst runs; time to their first reply.

    Read from the server's record afterwards: polling for each reply would itself load
    the event loop the burst runs on.
    """
    pushed: dict[int, float] = {}
    person = 900_000
    while running():
        await asyncio.sleep(0.2)
        person += 1
        pushed[person] = time.monotonic()
        api.push_message(person, "/help")
        bot.pushed += 1
    await bot.settled(timeout=60)
    first: dict[int, float] = {}
    for call in api.calls_of("sendMessage", ok=True):
        if call.chat_id in pushed and call.chat_id not in first:
            first[call.chat_id] = call.received_at
    missing = len(pushed) - len(first)
    assert not missing, f"{missing} people got no reply"
    return [first[chat] - pushed[chat] for chat in pushed]


async def run() -> None:
    await updates_per_second(_arg("updates", 2000))
    await burst(_arg("burst", 10_000), _arg("rate", 250))


if __name__ == "__main__":
    asyncio.run(run())
