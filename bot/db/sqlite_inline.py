"""SQLite calls made on the event loop's thread instead of aiosqlite's worker thread.

aiosqlite hands every call (cursor, execute, fetch, close, commit: eight for one
message) to a thread of its own and wakes the event loop for each result. On the 2-core
machines here one such round trip cost 0.1-0.15 ms, more than half of handling a
message; the SQLite work itself takes microseconds on a local file, and our sessions
take turns anyway (SQLite has one writer). Made inline, a message took 1.6-2.5 ms
instead of 3.9-5 ms (same machine, same code otherwise; ``make bench``).

The price: a long statement (a claim batch of 10,000, ~0.1 s) holds the event loop
for as long, and so does SQLite's busy wait while another process (a CLI command) holds
the write lock. PostgreSQL is not affected.

This overrides aiosqlite's private ``_execute``; pyproject pins aiosqlite below 0.23,
and tests/test_sqlite_inline.py fails if a new version stops running calls inline.
The worker thread still opens and closes the connection (``close`` waits for it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run in the caller's thread."""

    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")  # what aiosqlite says, for SQLAlchemy
        return fn(*args, **kwargs)


async def connect(path: str) -> InlineConnection:
    """Open ``path`` (SQLAlchemy's ``async_creator``); usable from any thread after."""
    connection = InlineConnection(
        partial(sqlite3.connect, path, check_same_thread=False), iter_chunk_size=64
    )
    # A daemon, as SQLAlchemy makes aiosqlite's own: an idle connection left open
    # must not keep the interpreter from exiting.
    connection._thread.daemon = True
    await connection  # opens it on aiosqlite's thread
    return connection
