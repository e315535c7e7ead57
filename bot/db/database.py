"""The async engine: SQLite (WAL) by default, PostgreSQL by URL; schema via Alembic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

from bot.db import sqlite_inline

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class Database:
    """One engine and its session factory; ``session()`` is the unit of work."""

    def __init__(self, url: str, *, echo: bool = False, schema: str | None = None) -> None:
        """``schema`` (PostgreSQL only) puts every table in that schema, e.g. one per test."""
        self.url = url
        if url.startswith("sqlite"):
            _ensure_sqlite_dir(url)
        options = _engine_options(url)
        if schema is not None:
            options["connect_args"] = {"server_settings": {"search_path": schema}}
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, **options)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "reset", _sqlite_rollback_if_open)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer; many concurrent transactions in one process would wait in
        # its busy handler or fail to upgrade a read lock ("database is locked"). Taking
        # turns here is faster and never loses a message. PostgreSQL needs no such thing.
        self._turns = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A transaction: committed when the block ends normally, rolled back otherwise."""
        if self._turns is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        async with self._turns, self._sessions() as session, session.begin():
            yield session

    async def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` with Alembic (never ``create_all``)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(_run_upgrade, revision)

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as connection:
            return await connection.run_sync(_current_revision)

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _run_upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def _current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("postgresql"):
        return {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True}
    # The pool's own reset is replaced by ``_sqlite_rollback_if_open``; connections run
    # their calls inline (see ``sqlite_inline``), opened from the URL's path alone.
    path = make_url(url).database or ":memory:"
    return {"pool_reset_on_return": None, "async_creator": partial(sqlite_inline.connect, path)}


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the scheduler read while a message is being written; NORMAL sync is
    # durable across application crashes, which is what a chat bot needs.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_rollback_if_open(
    dbapi_connection: Any, record: ConnectionPoolEntry, state: PoolResetState
) -> None:
    # A connection back in the pool must not keep a transaction open. By default the
    # pool rolls back every time, even right after a commit; with aiosqlite each call is
    # a round trip to the connection's thread (~0.1 ms, a twentieth of a message), so
    # roll back only when SQLite says a transaction is open. Not during garbage
    # collection: there, as in SQLAlchemy's own reset, nothing may be awaited.
    driver = record.driver_connection
    if state.asyncio_safe and driver is not None and driver.in_transaction:
        dbapi_connection.rollback()
