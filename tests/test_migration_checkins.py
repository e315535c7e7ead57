"""Migration 0007 carries a running installation's check-ins over, and back.

Before it, who is due lived in ``episodes.next_checkin_at`` and claimed check-ins were
outbox rows of kind ``checkin``; after it, they live in ``checkin_schedule`` and
``checkin_triggers``. Nobody's next check-in may be lost or sent twice on the way.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import JSON, Connection, DateTime, column, insert, table, text

from bot.db.database import Database, alembic_config

NOW = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


# The tables as they were at 0006 (the models describe head), typed for both backends.
When = DateTime(timezone=True)
USERS = table(
    "users",
    *(column(name) for name in ("id", "address", "lang", "tz", "unreachable")),
    column("created_at", When),
    column("last_seen_at", When),
)
EPISODES = table(
    "episodes",
    *(column(name) for name in ("id", "user_id", "seq", "status", "escalated")),
    column("started_at", When),
    column("next_checkin_at", When),
    column("next_checkin_day"),
)
OUTBOX = table(
    "outbox",
    *(column(name) for name in ("key", "user_id", "address", "kind", "priority", "status")),
    column("payload", JSON),
    column("attempts"),
    column("not_before", When),
    column("created_at", When),
    column("sent_at", When),
)


async def seed_0006(db: Database) -> None:
    """One user with three episodes: two long done, one due later with one claimed."""
    async with db.session() as session:
        await session.execute(
            insert(USERS).values(
                id=1,
                address="console:ann",
                lang="en",
                tz="UTC",
                unreachable=False,
                created_at=NOW,
                last_seen_at=NOW,
            )
        )
        for episode_id, status, at, day in (
            (1, "closed", None, None),
            (2, "closed", None, None),
            (3, "active", DUE, 4),
        ):
            await session.execute(
                insert(EPISODES).values(
                    id=episode_id,
                    user_id=1,
                    seq=episode_id,
                    started_at=NOW,
                    status=status,
                    escalated=False,
                    next_checkin_at=at,
                    next_checkin_day=day,
                )
            )
        for key, kind, payload, status in (
            ("checkin:1:7", "checkin", {"episode": 1, "day": 7}, "done"),
            ("checkin:1:7:0", "message", {"text": "How is it?"}, "sent"),
            ("checkin:3:3", "checkin", {"episode": 3, "day": 3}, "pending"),
        ):
            await session.execute(
                insert(OUTBOX).values(
                    key=key,
                    user_id=1,
                    address="console:ann",
                    kind=kind,
                    payload=payload,
                    priority=2,
                    status=status,
                    attempts=0,
                    not_before=NOW,
                    created_at=NOW,
                    sent_at=None if status == "pending" else NOW,
                )
            )


async def rows(db: Database, query: str) -> list[tuple[object, ...]]:
    async with db.session() as session:
        return [tuple(row) for row in (await session.execute(text(query))).all()]


async def test_the_schedule_and_the_claimed_check_ins_move_over_and_back(
    database: Database,
) -> None:
    async with database.engine.begin() as connection:  # the fixture's database is at head
        await connection.run_sync(_downgrade, "0006")
    await seed_0006(database)
    await database.upgrade("0007")

    assert await rows(database, "SELECT episode_id, user_id, day FROM checkin_schedule") == [
        (3, 1, 4)
    ]
    triggers = await rows(
        database,
        "SELECT episode_id, day, address, status FROM checkin_triggers ORDER BY episode_id",
    )
    assert triggers == [(1, 7, "console:ann", "done"), (3, 3, "console:ann", "pending")]
    assert await rows(database, "SELECT key, kind FROM outbox") == [("checkin:1:7:0", "message")]

    async with database.engine.begin() as connection:
        await connection.run_sync(_downgrade, "0006")
    outbox = await rows(database, "SELECT key, kind, status, payload FROM outbox ORDER BY key")
    assert [(key, kind, status) for key, kind, status, _ in outbox] == [
        ("checkin:1:7", "checkin", "done"),
        ("checkin:1:7:0", "message", "sent"),
        ("checkin:3:3", "checkin", "pending"),
    ]
    payload = outbox[2][3]  # a dict from PostgreSQL's json, a string from SQLite
    assert (json.loads(payload) if isinstance(payload, str) else payload) == {
        "episode": 3,
        "day": 3,
    }
    # The due episode keeps its time; nothing else looks due.
    due = await rows(database, "SELECT id FROM episodes WHERE next_checkin_at IS NOT NULL")
    assert due == [(3,)]


def _downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)
