"""The check-in tick: find episodes whose check-in is due and claim them, in batches.

Who is due lives in ``episodes.next_checkin_at`` (indexed). Claiming writes one
outbox trigger per episode and day under the unique key ``checkin:<episode>:<day>``
and clears ``next_checkin_at``; the dialog sets the next one when it runs the
check-in. So a second tick, a restart or a second replica never makes a duplicate,
and memory stays at one batch whatever the number of users.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, String, cast, func, literal, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.database import Database
from bot.db.models import EpisodeRow, OutboxRow, User, UTCDateTime
from bot.store import CHECKIN

log = logging.getLogger(__name__)
BATCH = 5000


async def claim_due(db: Database, now: datetime, batch: int = BATCH) -> int:
    """Claim every check-in due at ``now``; returns how many were claimed."""
    total = 0
    while True:
        async with db.session() as session:
            claimed = await _claim_batch(session, db.dialect, now, batch)
        total += claimed
        if claimed < batch:
            break
    if total:
        log.info("claimed %d due check-ins", total)
    return total


async def _claim_batch(session: AsyncSession, dialect: str, now: datetime, batch: int) -> int:
    query = (
        select(
            EpisodeRow.id,
            EpisodeRow.user_id,
            EpisodeRow.seq,
            EpisodeRow.next_checkin_day,
            EpisodeRow.next_checkin_at,
            User.address,
        )
        .join(User, User.id == EpisodeRow.user_id)
        .where(EpisodeRow.next_checkin_at <= now, EpisodeRow.status == "active")
        .where(User.unreachable.is_(False))
        .order_by(EpisodeRow.next_checkin_at)
        .limit(batch)
    )
    if dialect == "postgresql":
        # Replicas claim disjoint batches instead of waiting on each other's rows.
        query = query.with_for_update(skip_locked=True, of=EpisodeRow)
    rows = (await session.execute(query)).all()
    if not rows:
        return 0
    ids = [row.id for row in rows]
    # One INSERT … SELECT: the database builds the trigger rows, Python only sees ids.
    await session.execute(
        _insert_ignoring_duplicates(dialect).from_select(
            TRIGGER_COLUMNS, _triggers(dialect, ids, now)
        )
    )
    await session.execute(
        update(EpisodeRow)
        .where(EpisodeRow.id.in_(ids))
        .values(next_checkin_at=None)
        .execution_options(synchronize_session=False)
    )
    return len(rows)


TRIGGER_COLUMNS = [
    "key",
    "user_id",
    "address",
    "kind",
    "payload",
    "priority",
    "status",
    "not_before",
    "attempts",
    "created_at",
]


def _triggers(dialect: str, ids: list[int], now: datetime) -> Any:
    json_object = func.json_build_object if dialect == "postgresql" else func.json_object
    key = (
        literal("checkin:")
        + cast(EpisodeRow.id, String)
        + literal(":")
        + cast(EpisodeRow.next_checkin_day, String)
    )
    payload = json_object("episode", EpisodeRow.seq, "day", EpisodeRow.next_checkin_day)
    return (
        select(
            key,
            EpisodeRow.user_id,
            User.address,
            literal("checkin"),
            type_coerce(payload, JSON) if dialect == "postgresql" else payload,
            literal(CHECKIN),
            literal("pending"),
            EpisodeRow.next_checkin_at,
            literal(0),
            type_coerce(now, UTCDateTime()),
        )
        .join(User, User.id == EpisodeRow.user_id)
        .where(EpisodeRow.id.in_(ids))
    )


def _insert_ignoring_duplicates(dialect: str) -> Any:
    module: Any = postgresql if dialect == "postgresql" else sqlite
    # Core insert of the table, not the ORM entity: a plain executemany, much faster in bulk.
    return module.insert(OutboxRow.__table__).on_conflict_do_nothing(index_elements=["key"])


async def due_triggers(db: Database, limit: int = BATCH) -> list[int]:
    """Ids of claimed check-ins waiting to be run through the dialogs, oldest first."""
    async with db.session() as session:
        ids = await session.scalars(
            select(OutboxRow.id)
            .where(OutboxRow.kind == "checkin", OutboxRow.status == "pending")
            .order_by(OutboxRow.not_before, OutboxRow.id)
            .limit(limit)
        )
        return list(ids)


class CheckinRunner(Protocol):
    async def run_checkin(self, trigger_id: int) -> object: ...


async def tick(db: Database, service: CheckinRunner, now: datetime) -> int:
    """One scheduler pass: claim what is due, then run each claimed check-in once."""
    await claim_due(db, now)
    ran = 0
    while ids := await due_triggers(db):
        for trigger_id in ids:
            await service.run_checkin(trigger_id)
            ran += 1
    return ran
