"""The daily retention job: health data is kept only as long as it is useful.

- users silent for ``inactive_days`` are erased with everything about them (``store.forget``);
- closed episodes older than ``closed_days`` lose their row, triage answers and pain
  scores, and the conversation state forgets them too (it holds the scores as well);
- delivered or settled outbox rows older than ``closed_days`` go (their texts can carry
  answers and scores, e.g. the summary for the physiotherapist), and so do check-in
  triggers that ran that long ago;
- ``seen_events`` older than a week go: redeliveries come within minutes.

Work is done in batches of one transaction each, so memory stays flat and a running
bot is blocked for one batch at most. On PostgreSQL the users of a batch are locked
with SKIP LOCKED: someone mid-conversation is left for the next run. Only counts are
logged, never content.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Select, delete, exists, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot import store
from bot.codec import dump_state, load_state
from bot.db.database import Database
from bot.db.models import (
    CheckinTrigger,
    Conversation,
    EpisodeRow,
    OutboxRow,
    PainScore,
    SeenEvent,
    TriageAnswer,
    User,
)
from dialogs.states import State

log = logging.getLogger(__name__)
BATCH = 1000
SEEN_EVENT_DAYS = 7
# Outbox rows that will never be sent again; pending/sending ones are still work.
SETTLED = ("sent", "done", "failed", "unknown")


@dataclass(frozen=True)
class Policy:
    closed_days: int = 180
    inactive_days: int = 365
    seen_days: int = SEEN_EVENT_DAYS


@dataclass
class Counts:
    """How many rows went (or, in a dry run, would go); never what they said."""

    users: int = 0
    episodes: int = 0
    triage_answers: int = 0
    pain_scores: int = 0
    outbox: int = 0
    checkin_triggers: int = 0
    seen_events: int = 0

    def summary(self) -> str:
        return ", ".join(f"{f.name} {getattr(self, f.name)}" for f in fields(self))


async def run_retention(
    db: Database, now: datetime, policy: Policy = Policy(), *, batch: int = BATCH
) -> Counts:
    """Delete what the policy says is too old; returns the counts."""
    counts = Counts()
    users_before = now - timedelta(days=policy.inactive_days)
    closed_before = now - timedelta(days=policy.closed_days)
    # Inactive users first: their episodes go with them and are not counted twice.
    while True:
        async with db.session() as session:
            done = await _forget_inactive(session, db.dialect, users_before, batch)
        counts.users += done
        if done < batch:
            break
    while True:
        async with db.session() as session:
            done = await _drop_closed_episodes(session, db.dialect, closed_before, batch, counts)
        if done < batch:
            break
    counts.outbox = await _delete_in_batches(db, _old_outbox(closed_before), OutboxRow, batch)
    counts.checkin_triggers = await _delete_old_triggers(db, closed_before, batch)
    seen_before = now - timedelta(days=policy.seen_days)
    counts.seen_events = await _delete_in_batches(
        db, select(SeenEvent.id).where(SeenEvent.seen_at < seen_before), SeenEvent, batch
    )
    log.info("retention: deleted %s", counts.summary())
    return counts


async def count_due(db: Database, now: datetime, policy: Policy = Policy()) -> Counts:
    """What ``run_retention`` would delete now (``backcoach retention --dry-run``)."""
    users_before = now - timedelta(days=policy.inactive_days)
    closed_before = now - timedelta(days=policy.closed_days)
    old = _closed_episodes(closed_before).where(User.last_seen_at >= users_before)
    episodes = old.subquery()
    inactive = select(User.id).where(User.last_seen_at < users_before)
    async with db.session() as session:

        async def count(query: Select[Any]) -> int:
            return int((await session.execute(query)).scalar_one())

        def of_episodes(model: type[TriageAnswer] | type[PainScore]) -> Select[Any]:
            return (
                select(func.count())
                .select_from(model)
                .where(
                    exists().where(
                        episodes.c.user_id == model.user_id, episodes.c.seq == model.episode_seq
                    )
                )
            )

        seen_before = now - timedelta(days=policy.seen_days)
        return Counts(
            users=await count(select(func.count()).where(User.last_seen_at < users_before)),
            episodes=await count(select(func.count()).select_from(episodes)),
            triage_answers=await count(of_episodes(TriageAnswer)),
            pain_scores=await count(of_episodes(PainScore)),
            # Rows of users erased as inactive go with them, counted as users there.
            outbox=await count(
                select(func.count()).select_from(
                    _old_outbox(closed_before)
                    .where(
                        or_(
                            OutboxRow.user_id.is_(None),
                            OutboxRow.user_id.not_in(inactive),
                        )
                    )
                    .subquery()
                )
            ),
            checkin_triggers=await count(
                select(func.count()).select_from(_old_triggers(closed_before).subquery())
            ),
            seen_events=await count(select(func.count()).where(SeenEvent.seen_at < seen_before)),
        )


async def _forget_inactive(
    session: AsyncSession, dialect: str, before: datetime, batch: int
) -> int:
    query = select(User.id).where(User.last_seen_at < before).order_by(User.id).limit(batch)
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(await session.scalars(query))
    for user_id in ids:
        await store.forget(session, user_id)
    return len(ids)


def _closed_episodes(before: datetime) -> Select[int, int, int]:
    return (
        select(EpisodeRow.id, EpisodeRow.user_id, EpisodeRow.seq)
        .join(User, User.id == EpisodeRow.user_id)
        .where(EpisodeRow.status == "closed", EpisodeRow.closed_at < before)
    )


async def _drop_closed_episodes(
    session: AsyncSession, dialect: str, before: datetime, batch: int, counts: Counts
) -> int:
    query = _closed_episodes(before).order_by(EpisodeRow.id).limit(batch)
    if dialect == "postgresql":
        # The service locks the user row for each step; skip users who are mid-step.
        query = query.with_for_update(skip_locked=True, of=User)
    rows = (await session.execute(query)).all()
    if not rows:
        return 0
    ids = [row.id for row in rows]

    def of_batch(model: type[TriageAnswer] | type[PainScore]) -> Delete:
        match = exists().where(
            EpisodeRow.id.in_(ids),
            EpisodeRow.user_id == model.user_id,
            EpisodeRow.seq == model.episode_seq,
        )
        return delete(model).where(match).execution_options(synchronize_session=False)

    # Triggers have no foreign key to cascade (see CheckinTrigger): they go by episode.
    await session.execute(delete(CheckinTrigger).where(CheckinTrigger.episode_id.in_(ids)))
    counts.triage_answers += await _rowcount(session, of_batch(TriageAnswer))
    counts.pain_scores += await _rowcount(session, of_batch(PainScore))
    await _forget_in_states(session, {(row.user_id, row.seq) for row in rows})
    counts.episodes += await _rowcount(
        session,
        delete(EpisodeRow)
        .where(EpisodeRow.id.in_(ids))
        .execution_options(synchronize_session=False),
    )
    return len(rows)


async def _forget_in_states(session: AsyncSession, episodes: set[tuple[int, int]]) -> None:
    """Drop a deleted episode from its conversation state, which carries its scores too.

    Only the latest episode lives in the state; an older one is already gone from it.
    """
    users = {user_id for user_id, _ in episodes}
    conversations = await session.scalars(
        select(Conversation).where(Conversation.user_id.in_(users))
    )
    for conversation in conversations:
        state = load_state(conversation.state)
        episode = state.episode if state is not None else None
        if state is None or episode is None or episode.status != "closed":
            continue
        if (conversation.user_id, episode.seq) in episodes:
            # Back to rest; the turn counter stays, so an old button still cannot answer.
            fresh = State(state.profile, turn=state.turn, episodes_started=state.episodes_started)
            conversation.state = dump_state(fresh)


def _old_outbox(before: datetime) -> Select[Any]:
    return select(OutboxRow.id).where(OutboxRow.status.in_(SETTLED), OutboxRow.created_at < before)


def _old_triggers(before: datetime) -> Select[int, int]:
    return select(CheckinTrigger.episode_id, CheckinTrigger.day).where(
        CheckinTrigger.status == "done", CheckinTrigger.created_at < before
    )


async def _delete_old_triggers(db: Database, before: datetime, batch: int) -> int:
    total = 0
    while True:
        async with db.session() as session:
            chosen = _old_triggers(before).limit(batch)
            done = await _rowcount(
                session,
                delete(CheckinTrigger)
                .where(tuple_(CheckinTrigger.episode_id, CheckinTrigger.day).in_(chosen))
                .execution_options(synchronize_session=False),
            )
        total += done
        if done < batch:
            return total


async def _delete_in_batches(
    db: Database, ids: Select[Any], model: type[OutboxRow] | type[SeenEvent], batch: int
) -> int:
    total = 0
    while True:
        async with db.session() as session:
            chosen = ids.order_by(model.id).limit(batch).scalar_subquery()
            done = await _rowcount(
                session,
                delete(model)
                .where(model.id.in_(chosen))
                .execution_options(synchronize_session=False),
            )
        total += done
        if done < batch:
            return total


async def _rowcount(session: AsyncSession, statement: Delete) -> int:
    result = cast(CursorResult[Any], await session.execute(statement))
    return int(result.rowcount)
