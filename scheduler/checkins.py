"""The check-in tick: find episodes whose check-in is due and claim them, in batches.

Who is due lives in ``episodes.next_checkin_at`` (indexed). Claiming writes one
outbox trigger per episode and day under the unique key ``checkin:<episode>:<day>``
and clears ``next_checkin_at``; the dialog sets the next one when it runs the
check-in. So a second tick, a restart or a second replica never makes a duplicate,
and memory stays at one batch whatever the number of users.

On PostgreSQL one tick at a time plans: a second tick (another replica, or a slow one
overlapping) finds the advisory lock taken and skips the claiming. Correctness does not
depend on the lock: the unique keys and SKIP LOCKED already make a racing claim harmless.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Select,
    String,
    cast,
    func,
    literal,
    select,
    text,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.database import Database
from bot.db.models import EpisodeRow, OutboxRow, User, UTCDateTime
from bot.store import CHECKIN

log = logging.getLogger(__name__)
# Python never holds the rows (the database builds the triggers), so a batch bounds the
# length of one transaction, not memory: 10,000 takes ~0.1 s on SQLite.
BATCH = 10_000
# Concurrent claimers on PostgreSQL (see claim_due); SQLite has a single writer.
PG_WORKERS = 2
# The advisory lock of the planning: this key and the schema (each schema plans alone).
PLANNING_LOCK = 0x6B63_6869  # "kchi"


async def claim_due(db: Database, now: datetime, batch: int = BATCH) -> int:
    """Claim every check-in due at ``now``; returns how many were claimed."""
    if db.dialect == "postgresql":
        # One planner at a time: a session lock on a connection of its own, held while
        # the claimers run (released on unlock, or by PostgreSQL if the process dies).
        async with db.engine.connect() as lock:
            got = await lock.scalar(
                text("select pg_try_advisory_lock(:key, hashtext(current_schema()))"),
                {"key": PLANNING_LOCK},
            )
            if not got:
                log.info("another tick is planning check-ins; skipping the claim")
                return 0
            try:
                # PostgreSQL writes on several connections at once, and SKIP LOCKED keeps
                # the claimers' batches disjoint (as between replicas): two claimers finish
                # ~20% sooner than one on a two-core machine (measured; the rest is I/O).
                counts = await asyncio.gather(
                    *(_claim_postgresql(db, now, batch) for _ in range(PG_WORKERS))
                )
            finally:
                await lock.execute(
                    text("select pg_advisory_unlock(:key, hashtext(current_schema()))"),
                    {"key": PLANNING_LOCK},
                )
                await lock.commit()
        total = sum(counts)
    else:
        total = await _claim_sqlite(db, now, batch)
    if total:
        log.info("claimed %d due check-ins", total)
    return total


def _due(now: datetime, batch: int) -> Select[int, int, int, int | None, datetime | None, str]:
    """Up to ``batch`` due episodes of reachable users, with what a trigger needs."""
    return (
        select(
            EpisodeRow.id,
            EpisodeRow.user_id,
            EpisodeRow.seq,
            EpisodeRow.next_checkin_day.label("day"),
            EpisodeRow.next_checkin_at.label("due_at"),
            User.address,
        )
        .join(User, User.id == EpisodeRow.user_id)
        .where(EpisodeRow.next_checkin_at <= now, EpisodeRow.status == "active")
        .where(User.unreachable.is_(False))
        .limit(batch)
    )


async def _claim_postgresql(db: Database, now: datetime, batch: int) -> int:
    """Claim batches, one transaction and one statement each, until none is full."""
    total = 0
    while True:
        async with db.session() as session:
            claimed = await _claim_batch_postgresql(session, now, batch)
        total += claimed
        if claimed < batch:
            return total


async def _claim_batch_postgresql(session: AsyncSession, now: datetime, batch: int) -> int:
    # One statement, so the rows never travel to Python: lock a batch of due episodes
    # (SKIP LOCKED: replicas claim disjoint batches instead of waiting on each other),
    # clear their next_checkin_at, and insert their triggers from what the UPDATE returns.
    # No ORDER BY: the planner reads the due rows in table order, which keeps the writes
    # of one batch on few pages; every due row is claimed by the end of the tick anyway.
    due = _due(now, batch).with_for_update(skip_locked=True, of=EpisodeRow).cte("due")
    claimed = (
        update(EpisodeRow)
        .where(EpisodeRow.id == due.c.id)
        .values(next_checkin_at=None)
        .returning(due.c.id, due.c.user_id, due.c.seq, due.c.day, due.c.due_at, due.c.address)
        .cte("claimed")
    )
    triggers = (
        _insert_ignoring_duplicates("postgresql")
        .from_select(TRIGGER_COLUMNS, _triggers(claimed, "postgresql", now))
        .cte("triggers")
    )
    count = select(func.count()).select_from(claimed).add_cte(triggers)
    return int((await session.execute(count)).scalar_one())


async def _claim_sqlite(db: Database, now: datetime, batch: int) -> int:
    """Claim batches in id order, each after the last, until none is full."""
    total, after = 0, 0
    while True:
        async with db.session() as session:
            ids = await _claim_batch_sqlite(session, now, batch, after)
        total += len(ids)
        if len(ids) < batch:
            return total
        after = max(ids)


async def _claim_batch_sqlite(
    session: AsyncSession, now: datetime, batch: int, after: int
) -> list[int]:
    # In id order, a batch's writes (episode rows, trigger keys) land on neighbouring
    # pages; in due-time order they spread over the whole table, about 2.5x slower for
    # 100,000 due. The price is a scan of the table from ``after`` instead of an index
    # range: a few ms per 100,000 episodes, and retention keeps the table small.
    due = _due(now, batch).where(EpisodeRow.id > after).order_by(EpisodeRow.id).subquery("due")
    # "WHERE true": without a WHERE, SQLite reads the ON of ON CONFLICT as a join's ON.
    triggers = _triggers(due, "sqlite", now).where(true())
    await session.execute(
        _insert_ignoring_duplicates("sqlite").from_select(TRIGGER_COLUMNS, triggers)
    )
    # SQLite has one writer: from the INSERT on this transaction holds the write lock,
    # so the same query picks the same due rows again (the order by id is total).
    claimed = await session.scalars(
        update(EpisodeRow)
        .where(EpisodeRow.id.in_(select(due.c.id)))
        .values(next_checkin_at=None)
        .returning(EpisodeRow.id)
        .execution_options(synchronize_session=False)
    )
    return list(claimed)


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


def _triggers(due: Any, dialect: str, now: datetime) -> Select[Any]:
    """The outbox rows for ``due`` (columns as in ``_due``), built by the database."""
    json_object = func.json_build_object if dialect == "postgresql" else func.json_object
    key = literal("checkin:") + cast(due.c.id, String) + literal(":") + cast(due.c.day, String)
    payload = json_object("episode", due.c.seq, "day", due.c.day)
    return select(
        key,
        due.c.user_id,
        due.c.address,
        literal("checkin"),
        type_coerce(payload, JSON) if dialect == "postgresql" else payload,
        literal(CHECKIN),
        literal("pending"),
        due.c.due_at,
        literal(0),
        type_coerce(now, UTCDateTime()),
    )


def _insert_ignoring_duplicates(dialect: str) -> Any:
    module: Any = postgresql if dialect == "postgresql" else sqlite
    # Core insert of the table, not the ORM entity: a plain INSERT … SELECT.
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
