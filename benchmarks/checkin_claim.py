"""The check-in tick claims N due users: target 100,000 in < 2 s on SQLite and PostgreSQL,
with memory bounded by one batch (peak traced Python memory is printed for N and N/10)."""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from bot.db.database import Database
from bot.db.models import EpisodeRow, User
from scheduler.checkins import claim_due

NOW = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


async def seed(db: Database, users: int) -> None:
    chunk = 5000
    for start in range(0, users, chunk):
        ids = range(start + 1, min(start + chunk, users) + 1)
        async with db.session() as session:
            await session.execute(
                insert(User),
                [
                    {
                        "id": i,
                        "address": f"console:{i}",
                        "lang": "en",
                        "tz": "Europe/Berlin",
                        "unreachable": False,
                        "created_at": NOW,
                        "last_seen_at": NOW,
                    }
                    for i in ids
                ],
            )
            await session.execute(
                insert(EpisodeRow),
                [
                    {
                        "id": i,
                        "user_id": i,
                        "seq": 1,
                        "started_at": NOW,
                        "status": "active",
                        "start_date": date(2026, 3, 2),
                        "escalated": False,
                        "next_checkin_at": NOW - timedelta(minutes=i % 60),
                        "next_checkin_day": 1,
                    }
                    for i in ids
                ],
            )


async def measure(db: Database, users: int) -> tuple[float, float]:
    await seed(db, users)
    tracemalloc.start()
    started = time.perf_counter()
    claimed = await claim_due(db, NOW)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    assert claimed == users, claimed
    return elapsed, peak


async def run(users: int = 100_000, postgres: bool = True) -> None:
    backends = ["sqlite"] + (["postgres"] if postgres else [])
    for backend in backends:
        results = []
        for n in (users // 10, users):
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    db = Database(f"sqlite+aiosqlite:///{tmp}/claim.sqlite3")
                    await db.upgrade()
                    results.append((n, *await measure(db, n)))
                    await db.dispose()
            else:
                from tests.conftest import PG_URL, pg_schema

                async with pg_schema(PG_URL) as db:
                    results.append((n, *await measure(db, n)))
        (n1, t1, m1), (n2, t2, m2) = results
        print(
            f"claim due check-ins on {backend}: {n2:,} in {t2:.2f} s "
            f"(target < 2 s: {'met' if t2 < 2 else 'NOT met'}); {n1:,} in {t1:.2f} s; "
            f"peak memory {m1:.1f} MB at {n1:,} vs {m2:.1f} MB at {n2:,} "
            f"(ratio {m2 / m1:.2f}, flat ≈ 1)"
        )
