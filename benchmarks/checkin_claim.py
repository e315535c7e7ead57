"""The check-in tick claims N due users: target 100,000 in < 2 s on SQLite and PostgreSQL,
with memory bounded by one batch (peak traced Python memory is printed for N and N/10)."""

from __future__ import annotations

import statistics
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from benchmarks.databases import fresh, seed_plans, user_row
from bot.db.database import Database
from bot.db.models import User
from scheduler.checkins import claim_due

NOW = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


async def seed(db: Database, users: int) -> None:
    chunk = 5000
    for start in range(0, users, chunk):
        ids = range(start + 1, min(start + chunk, users) + 1)
        async with db.session() as session:
            await session.execute(insert(User), [user_row(i, NOW) for i in ids])
            await seed_plans(session, ids, NOW, lambda i: NOW - timedelta(minutes=i % 60))


async def measure(db: Database, users: int, *, trace: bool) -> float:
    """Seconds to claim ``users`` due check-ins, or (trace=True) peak traced MB instead.

    tracemalloc slows Python several times over, so time and memory are separate runs.
    """
    await seed(db, users)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    claimed = await claim_due(db, NOW)
    elapsed = time.perf_counter() - started
    assert claimed == users, claimed
    if not trace:
        return elapsed
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return peak


async def run(users: int = 100_000, postgres: bool = True, repeat: int = 5) -> None:
    """Median of ``repeat`` timed claims on fresh databases (shared machines are noisy)."""
    backends = ["sqlite"] + (["postgres"] if postgres else [])
    for backend in backends:
        times = [await _fresh(backend, users, False) for _ in range(repeat)]
        small = await _fresh(backend, users // 10, True)
        large = await _fresh(backend, users, True)
        seconds = statistics.median(times)
        print(
            f"claim due check-ins on {backend}: {users:,} in {seconds:.2f} s median of "
            f"{repeat} ({min(times):.2f}-{max(times):.2f}; target < 2 s: "
            f"{'met' if seconds < 2 else 'NOT met'}); peak traced memory "
            f"{small:.1f} MB at {users // 10:,} vs {large:.1f} MB at {users:,} "
            f"(ratio {large / small:.2f}; flat = 1)"
        )


async def _fresh(backend: str, n: int, trace: bool) -> float:
    async with fresh(backend) as db:
        return await measure(db, n, trace=trace)
