"""A fresh, migrated database for one benchmark run, and the rows the benchmarks seed."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.database import Database
from bot.db.models import CheckinSchedule, EpisodeRow


@asynccontextmanager
async def fresh(backend: str) -> AsyncIterator[Database]:
    """Dropped afterwards; PostgreSQL is the tests' (127.0.0.1:5432, database test)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3")
            await db.upgrade()
            try:
                yield db
            finally:
                await db.dispose()
        return
    from tests.conftest import PG_URL, pg_schema

    async with pg_schema(PG_URL) as db:
        yield db


def user_row(i: int, now: datetime, **columns: object) -> dict[str, object]:
    """A ``users`` row for id ``i``; ``columns`` override the defaults."""
    return {
        "id": i,
        "address": f"telegram:{i}",
        "lang": "en",
        "tz": "Europe/Berlin",
        "unreachable": False,
        "created_at": now,
        "last_seen_at": now,
        **columns,
    }


async def seed_plans(
    session: AsyncSession, ids: Sequence[int], now: datetime, due: Callable[[int], datetime]
) -> None:
    """An active plan (episode id = user id) for each of ``ids``, its check-in due at ``due(i)``:
    the episode row with its mirror columns and the row the tick claims from."""
    if not ids:
        return
    await session.execute(
        insert(EpisodeRow),
        [
            {
                "id": i,
                "user_id": i,
                "seq": 1,
                "started_at": now,
                "status": "active",
                "start_date": now.date(),
                "escalated": False,
                "next_checkin_at": due(i),
                "next_checkin_day": 1,
            }
            for i in ids
        ],
    )
    await session.execute(
        insert(CheckinSchedule),
        [{"episode_id": i, "user_id": i, "day": 1, "due_at": due(i)} for i in ids],
    )
