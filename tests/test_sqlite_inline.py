"""SQLite runs its calls on the event loop's thread (bot/db/sqlite_inline.py).

The speed-up rests on aiosqlite's private ``_execute``; these fail if a new aiosqlite
stops honouring the override, or if errors and closing stop behaving as they did.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.db.database import Database
from bot.db.models import User
from bot.db.sqlite_inline import InlineConnection


async def test_statements_run_on_the_event_loops_thread(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/inline.sqlite3")
    threads: list[int] = []
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, InlineConnection)
        # A SQL function that notes the thread SQLite calls it on.
        note = lambda: threads.append(threading.get_ident())  # noqa: E731
        await driver.create_function("whose_thread", 0, note)
        await connection.execute(text("SELECT whose_thread()"))
    await db.dispose()
    assert threads == [threading.get_ident()]


async def test_errors_roll_back_and_the_connection_goes_on(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/inline.sqlite3")
    await db.upgrade()
    row = {"address": "console:a", "lang": "en", "tz": "UTC", "unreachable": False}
    insert = text(
        "INSERT INTO users (address, lang, tz, unreachable, created_at, last_seen_at)"
        " VALUES (:address, :lang, :tz, :unreachable, '2026-03-02', '2026-03-02')"
    )
    async with db.session() as session:
        await session.execute(insert, row)
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            await session.execute(insert, row)  # the same address again
    async with db.session() as session:
        count = await session.scalar(text("SELECT count(*) FROM users"))
        now = datetime(2026, 3, 2, tzinfo=UTC)
        session.add(
            User(
                address="console:b",
                lang="en",
                tz="UTC",
                unreachable=False,
                created_at=now,
                last_seen_at=now,
            )
        )
    assert count == 1
    # Closing waits for aiosqlite's thread, which still opens and closes connections.
    await asyncio.wait_for(db.dispose(), timeout=5)
