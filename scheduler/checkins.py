"""The check-in tick: find the check-ins that are due and claim them, in batches.

Who is due lives in ``checkin_schedule`` (one narrow row per active plan, indexed by
``due_at``). Claiming a due row deletes it and writes a ``checkin_triggers`` row under
the unique key (episode, plan day); the dialog schedules the next one when it runs the
check-in. So a second tick, a restart or a second replica never makes a duplicate, and
memory stays at one batch whatever the number of users.

Why two narrow tables and not a flag on ``episodes`` and an outbox row: on PostgreSQL
that cost ~60 µs of CPU per check-in (a non-HOT update touching four indexes, an insert
touching four more, and a foreign-key check per row); deleting a narrow row and
inserting one with a single key costs a fraction of that (measured 3-5x faster).

On PostgreSQL one tick at a time plans: a second tick (another replica, or a slow one
overlapping) finds the advisory lock taken and skips the claiming. Correctness does not
depend on the lock: the unique keys and SKIP LOCKED already make a racing claim harmless.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, any_, delete, func, literal, select, text, true, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.database import Database
from bot.db.models import CheckinSchedule, CheckinTrigger, TriggerKey, User, UTCDateTime

log = logging.getLogger(__name__)
# Python never holds the rows (the database builds the triggers), so a batch bounds the
# length of one transaction, not memory.
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


def _due(now: datetime, batch: int) -> Select[int, int, datetime, str]:
    """Up to ``batch`` due check-ins of reachable users, with what a trigger needs."""
    return (
        select(
            CheckinSchedule.episode_id,
            CheckinSchedule.day,
            CheckinSchedule.due_at,
            User.address,
        )
        .join(User, User.id == CheckinSchedule.user_id)
        .where(CheckinSchedule.due_at <= now, User.unreachable.is_(False))
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
    # One statement, so the rows never travel to Python: lock a batch of due rows (SKIP
    # LOCKED: replicas claim disjoint batches instead of waiting on each other), delete
    # them, and insert their triggers. The DELETE looks its rows up by primary key from
    # an array; joining the CTE instead made PostgreSQL hash the whole schedule per batch.
    # No ORDER BY: the planner reads the due rows in index order, and every due row is
    # claimed by the end of the tick anyway.
    due = _due(now, batch).with_for_update(skip_locked=True, of=CheckinSchedule).cte("due")
    ids = func.array(select(due.c.episode_id).scalar_subquery())
    claimed = delete(CheckinSchedule).where(CheckinSchedule.episode_id == any_(ids)).cte("claimed")
    triggers = (
        _insert_ignoring_duplicates("postgresql")
        .from_select(TRIGGER_COLUMNS, _triggers(due, now))
        .cte("triggers")
    )
    count = select(func.count()).select_from(due).add_cte(claimed, triggers)
    return int((await session.execute(count)).scalar_one())


async def _claim_sqlite(db: Database, now: datetime, batch: int) -> int:
    """Claim batches in episode order, each after the last, until none is full."""
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
    # In episode order a batch's writes land on neighbouring pages, and the next batch
    # starts after the last one (rows of unreachable users are not read again).
    due = (
        _due(now, batch)
        .where(CheckinSchedule.episode_id > after)
        .order_by(CheckinSchedule.episode_id)
        .subquery("due")
    )
    # "WHERE true": without a WHERE, SQLite reads the ON of ON CONFLICT as a join's ON.
    triggers = _triggers(due, now).where(true())
    await session.execute(
        _insert_ignoring_duplicates("sqlite").from_select(TRIGGER_COLUMNS, triggers)
    )
    # SQLite has one writer: from the INSERT on this transaction holds the write lock,
    # so the same query picks the same due rows again (the order by episode is total).
    claimed = await session.scalars(
        delete(CheckinSchedule)
        .where(CheckinSchedule.episode_id.in_(select(due.c.episode_id)))
        .returning(CheckinSchedule.episode_id)
        .execution_options(synchronize_session=False)
    )
    return list(claimed)


TRIGGER_COLUMNS = ["episode_id", "day", "address", "due_at", "status", "created_at"]


def _triggers(due: Any, now: datetime) -> Select[Any]:
    """The trigger rows for ``due`` (columns as in ``_due``), built by the database."""
    return select(
        due.c.episode_id,
        due.c.day,
        due.c.address,
        due.c.due_at,
        literal("pending"),
        type_coerce(now, UTCDateTime()),
    )


def _insert_ignoring_duplicates(dialect: str) -> Any:
    module: Any = postgresql if dialect == "postgresql" else sqlite
    # Core insert of the table, not the ORM entity: a plain INSERT … SELECT.
    table = CheckinTrigger.__table__
    return module.insert(table).on_conflict_do_nothing(index_elements=["episode_id", "day"])


async def due_triggers(db: Database, limit: int = BATCH) -> list[TriggerKey]:
    """Keys of claimed check-ins waiting to be run through the dialogs, oldest first."""
    async with db.session() as session:
        rows = await session.execute(
            select(CheckinTrigger.episode_id, CheckinTrigger.day)
            .where(CheckinTrigger.status == "pending")
            .order_by(CheckinTrigger.due_at, CheckinTrigger.episode_id, CheckinTrigger.day)
            .limit(limit)
        )
        return [(int(episode), int(day)) for episode, day in rows.all()]


class CheckinRunner(Protocol):
    async def run_checkin(self, trigger: TriggerKey) -> object: ...


async def tick(db: Database, service: CheckinRunner, now: datetime) -> int:
    """One scheduler pass: claim what is due, then run each claimed check-in once."""
    await claim_due(db, now)
    ran = 0
    while keys := await due_triggers(db):
        for key in keys:
            await service.run_checkin(key)
            ran += 1
    return ran
