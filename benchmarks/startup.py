"""Start-up time and memory with 1,000 and 1,000,000 users (10% in an active plan).

    python -m benchmarks.startup [--users=1000000] [--no-postgres]

Each start is a fresh process (``python -m benchmarks.startup --child <url>``) that builds
the coach, brings the schema to head, settles the outbox and runs one tick, as
``backcoach run`` does; it prints seconds and peak RSS. Nothing is loaded per user at
start, so both should be about the same at either size.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from benchmarks.databases import seed_plans, user_row
from bot.db.database import Database
from bot.db.models import User

NOW = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
CHUNK = 20_000


async def seed(db: Database, users: int) -> None:
    """Every tenth user has an active plan, its check-in due within the next 20 hours."""
    for start in range(0, users, CHUNK):
        ids = range(start + 1, min(start + CHUNK, users) + 1)
        async with db.session() as session:
            await session.execute(insert(User), [user_row(i, NOW, lang="de") for i in ids])
            active = [i for i in ids if i % 10 == 0]
            await seed_plans(session, active, NOW, lambda i: NOW + timedelta(hours=1 + i % 20))


async def child(url: str, schema: str | None) -> None:
    """One start, measured from inside a fresh interpreter."""
    started = time.perf_counter()
    from bot.app import Coach
    from bot.clock import SimClock
    from bot.config import Config
    from bot.console import ConsoleTransport

    coach = Coach(Config(database_url=url), SimClock(NOW), [ConsoleTransport()])
    if schema is not None:
        await coach.db.dispose()
        coach.db = Database(url, schema=schema)
        coach.sender.db = coach.service.db = coach.db
    await coach.start()
    await coach.tick()
    elapsed = time.perf_counter() - started
    await coach.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{elapsed:.3f} {rss:.1f}")


def measure(url: str, schema: str | None) -> tuple[float, float]:
    args = [sys.executable, "-m", "benchmarks.startup", "--child", url, schema or ""]
    runs = [subprocess.run(args, capture_output=True, text=True, check=True) for _ in range(3)]
    figures = sorted((float(r.stdout.split()[0]), float(r.stdout.split()[1])) for r in runs)
    return figures[1]  # the median start


async def run(users: int = 1_000_000, postgres: bool = True) -> None:
    for backend in ["sqlite"] + (["postgres"] if postgres else []):
        results = {}
        for n in (1_000, users):
            results[n] = await _fresh(backend, n)
        (t_small, m_small), (t_large, m_large) = results[1_000], results[users]
        print(
            f"start-up on {backend}: {t_small:.2f} s / {m_small:.0f} MB with 1,000 users, "
            f"{t_large:.2f} s / {m_large:.0f} MB with {users:,} "
            f"(ratios {t_large / t_small:.2f} and {m_large / m_small:.2f}; same = 1)"
        )


async def _fresh(backend: str, users: int) -> tuple[float, float]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/startup.sqlite3"
            db = Database(url)
            await db.upgrade()
            await seed(db, users)
            await db.dispose()
            return await asyncio.to_thread(measure, url, None)
    from tests.conftest import PG_URL, pg_schema

    schema = pg_schema(PG_URL)
    async with schema as db:
        await seed(db, users)
        return await asyncio.to_thread(measure, PG_URL, schema.schema)


if __name__ == "__main__":
    if "--child" in sys.argv:
        url, schema = sys.argv[sys.argv.index("--child") + 1 :][:2]
        asyncio.run(child(url, schema or None))
    else:
        users = int(next((a[8:] for a in sys.argv if a.startswith("--users=")), 1_000_000))
        asyncio.run(run(users, postgres="--no-postgres" not in sys.argv))
