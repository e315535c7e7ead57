"""Digest issue N planned and queued for N subscribers, on SQLite and PostgreSQL.

    python -m benchmarks.digest_enqueue [--users=100000] [--no-postgres]

Prints the time to enqueue every subscriber's message and the peak traced Python memory
at N/10 and N subscribers (batches: it should not grow with N). Sending them is the
sender's job, measured at the configured rate in benchmarks/telegram_throughput.py.
"""

from __future__ import annotations

import asyncio
import sys
import time
import tracemalloc
from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from benchmarks.databases import fresh, user_row
from bot.app import load_all_content
from bot.db.database import Database
from bot.db.models import ArticleRead, DigestSubscription, OutboxRow, User
from content.loader import CONTENT_DIR
from scheduler.digest import run_digest

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


async def seed(db: Database, users: int) -> None:
    slugs = [a.slug for a in load_all_content(CONTENT_DIR)[0].articles]
    chunk = 5000
    for start in range(0, users, chunk):
        ids = range(start + 1, min(start + chunk, users) + 1)
        async with db.session() as session:
            await session.execute(
                insert(User),
                [
                    user_row(
                        i, NOW, lang="de" if i % 2 else "en", checkin_hour=8 if i % 3 else None
                    )
                    for i in ids
                ],
            )
            await session.execute(
                insert(DigestSubscription),
                [{"user_id": i, "status": "active", "asked_at": NOW} for i in ids],
            )
            await session.execute(
                insert(ArticleRead),
                [
                    {"user_id": i, "slug": slugs[i % len(slugs)], "day": NOW.date(), "at": NOW}
                    for i in ids
                    if i % 4 == 0
                ],
            )


async def measure(db: Database, users: int, *, trace: bool) -> float:
    content, _ = load_all_content(CONTENT_DIR)
    await seed(db, users)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    issue, queued = await run_digest(db, content, NOW)
    elapsed = time.perf_counter() - started
    assert issue is not None and queued == users, (issue, queued)
    async with db.session() as session:
        rows = (await session.execute(select(func.count()).select_from(OutboxRow))).scalar_one()
    assert rows == users
    if not trace:
        return elapsed
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return peak


async def _fresh(backend: str, n: int, trace: bool) -> float:
    async with fresh(backend) as db:
        return await measure(db, n, trace=trace)


async def run(users: int = 100_000, postgres: bool = True) -> None:
    for backend in ["sqlite"] + (["postgres"] if postgres else []):
        seconds = await _fresh(backend, users, False)
        small = await _fresh(backend, users // 10, True)
        large = await _fresh(backend, users, True)
        print(
            f"digest issue for {users:,} subscribers on {backend}: queued in {seconds:.1f} s "
            f"({users / seconds:,.0f}/s); peak traced memory {small:.1f} MB at {users // 10:,} "
            f"vs {large:.1f} MB at {users:,} (ratio {large / small:.2f}; flat = 1)"
        )


if __name__ == "__main__":
    users = int(next((a[8:] for a in sys.argv if a.startswith("--users=")), 100_000))
    asyncio.run(run(users, postgres="--no-postgres" not in sys.argv))
