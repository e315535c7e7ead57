"""Shared fixtures: the shipped content, a pure dialog driver, and real databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from bot.app import load_all_content
from bot.db.database import Database
from content.loader import CONTENT_DIR, Content
from dialogs.intents import Matcher
from tests.support.dialog import DialogDriver

PG_URL = os.environ.get(
    "BACKCOACH_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def shipped() -> tuple[Content, Matcher]:
    return load_all_content(CONTENT_DIR)


@pytest.fixture
def dialog(shipped: tuple[Content, Matcher]) -> Iterator[DialogDriver]:
    content, intents = shipped
    yield DialogDriver(content, intents, now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC), lang="en")


def _postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not (a plain TCP probe: no event loop needed)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(PG_URL.replace("+asyncpg", ""))
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 3).close()
    except OSError as exc:
        return f"PostgreSQL not reachable at {PG_URL}: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL; skipped without it, but a failure when CI=true."""
    problem = _postgres_reachable()
    if problem is not None:
        if IN_CI:
            pytest.fail(problem + " (CI=true: PostgreSQL is required)")
        pytest.skip(problem)
    return PG_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[Database]:
    """A migrated, empty database of each kind: SQLite in tmp_path, a fresh PG schema."""
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/test.sqlite3")
        await db.upgrade()
        yield db
        await db.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    async with pg_schema(url) as db:
        yield db


class pg_schema:
    """An async context manager: a Database in a new schema, dropped afterwards."""

    def __init__(self, url: str) -> None:
        self.url, self.schema = url, f"t_{uuid.uuid4().hex[:12]}"

    async def __aenter__(self) -> Database:
        admin = Database(self.url)
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
        await admin.dispose()
        self.db = Database(self.url, schema=self.schema)
        await self.db.upgrade()
        return self.db

    async def __aexit__(self, *exc: object) -> None:
        await self.db.dispose()
        admin = Database(self.url)
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{self.schema}" CASCADE')
        await admin.dispose()
