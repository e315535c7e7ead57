"""A fresh, migrated database for one benchmark run: a SQLite file or a PostgreSQL schema."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.db.database import Database


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
