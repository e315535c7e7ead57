"""Reading and writing one conversation's rows inside a unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.codec import dump_state, load_state
from bot.db.models import (
    Base,
    CheckinSchedule,
    CheckinTrigger,
    ConsentRecord,
    Conversation,
    EpisodeRow,
    OutboxRow,
    PainScore,
    SeenEvent,
    TransportCursor,
    TriageAnswer,
    User,
)
from dialogs.actions import Action, RecordConsent, RecordPain, RecordTriage, Say
from dialogs.states import Episode, State

# Outbox priorities: lower goes first. The emergency message beats everything; a reply to
# someone who just wrote beats scheduled check-ins, which beat bulk digests.
URGENT, REPLY, CHECKIN, BULK = 0, 1, 2, 3


@dataclass
class Loaded:
    user: User | None
    conversation: Conversation | None
    state: State | None


# Built once: a statement object reused with new parameters skips rebuilding it and
# computing its cache key on every message (~0.1 ms of a ~2 ms message).
_LOAD = (
    select(User, Conversation)
    .outerjoin(Conversation, Conversation.user_id == User.id)
    .where(User.address == bindparam("address"))
)
_LOAD_LOCKED = _LOAD.with_for_update(of=User)


async def load(session: AsyncSession, address: str, *, lock: bool) -> Loaded:
    """The user and their state in one query; on PostgreSQL the row is locked for this step."""
    stmt = _LOAD_LOCKED if lock else _LOAD
    row = (await session.execute(stmt, {"address": address})).first()
    if row is None:
        return Loaded(None, None, None)
    user, conversation = row
    state = load_state(conversation.state) if conversation is not None else None
    return Loaded(user, conversation, state)


async def save_user(
    session: AsyncSession, loaded: Loaded, address: str, state: State, now: datetime
) -> User:
    """Create or update the user's row and conversation from the new state."""
    profile = state.profile
    user = loaded.user
    if user is None:
        user = User(address=address, created_at=now, last_seen_at=now, unreachable=False)
        session.add(user)
        loaded.user = user
    user.lang, user.tz = profile.lang, profile.tz
    user.checkin_hour, user.consent_version = profile.hour, profile.consent_version
    data = dump_state(state)
    if loaded.conversation is None:
        await session.flush()  # a new user needs its id first
        loaded.conversation = Conversation(user_id=user.id, state=data, updated_at=now)
        session.add(loaded.conversation)
    elif loaded.conversation.state != data:
        loaded.conversation.state = data
        loaded.conversation.updated_at = now
    return user


async def save_episode(
    session: AsyncSession, user_id: int, old: Episode | None, new: Episode | None, now: datetime
) -> None:
    """Mirror the state's episode into its row: the columns reports and the tick query."""
    if new is None or (old is not None and _mirrored(old) == _mirrored(new)):
        return  # e.g. a pain score or a soreness answer: kept in the state, not in columns
    row = (
        await session.execute(
            select(EpisodeRow).where(EpisodeRow.user_id == user_id, EpisodeRow.seq == new.seq)
        )
    ).scalar_one_or_none()
    if row is None:
        row = EpisodeRow(user_id=user_id, seq=new.seq, started_at=new.started_at)
        session.add(row)
    row.status, row.red_flag, row.assessment = new.status, new.red_flag, new.assessment
    row.lift, row.start_date, row.escalated = new.lift, new.start_date, new.escalated
    row.outcome = new.outcome
    row.next_checkin_at, row.next_checkin_day = new.next_at, new.next_day
    if new.status == "closed" and row.closed_at is None:
        row.closed_at = now
    if new.escalated and row.escalated_at is None:
        row.escalated_at = now
    if old is None or (old.seq, old.status, old.next_at, old.next_day) != (
        new.seq,
        new.status,
        new.next_at,
        new.next_day,
    ):
        # Only a changed plan touches the schedule: a step that leaves it alone must not
        # bring back a row the tick has already claimed (and deleted).
        await session.flush()  # a new episode needs its id first
        await _reschedule(session, row, new)


def _mirrored(e: Episode) -> tuple[object, ...]:
    """What ``save_episode`` copies into the row (``closed_at`` and ``escalated_at``
    follow status and escalated): equal for two states, the row needs no visit."""
    return (e.seq, e.status, e.red_flag, e.assessment, e.lift, e.start_date, e.escalated,
            e.outcome, e.next_at, e.next_day)  # fmt: skip


async def _reschedule(session: AsyncSession, row: EpisodeRow, new: Episode) -> None:
    """The episode's row in the tick's queue: there while the plan is active and due."""
    await session.execute(delete(CheckinSchedule).where(CheckinSchedule.episode_id == row.id))
    if new.status == "active" and new.next_at is not None and new.next_day is not None:
        session.add(
            CheckinSchedule(
                episode_id=row.id, user_id=row.user_id, day=new.next_day, due_at=new.next_at
            )
        )


def record(session: AsyncSession, user_id: int, action: Action, now: datetime) -> None:
    """Append a health record; called only for users who consented."""
    if isinstance(action, RecordConsent):
        session.add(
            ConsentRecord(user_id=user_id, version=action.version, given=action.given, at=now)
        )
    elif isinstance(action, RecordTriage):
        session.add(
            TriageAnswer(
                user_id=user_id,
                episode_seq=action.episode,
                question=action.question,
                answer=action.answer,
                rules_version=action.rules_version,
                at=now,
            )
        )
    elif isinstance(action, RecordPain):
        session.add(
            PainScore(
                user_id=user_id,
                episode_seq=action.episode,
                day=action.day,
                score=action.score,
                trend=action.trend,
                at=now,
            )
        )


def outbox_row(
    *,
    user_id: int | None,
    address: str,
    key: str,
    message: Say,
    priority: int,
    now: datetime,
    not_before: datetime | None = None,
) -> dict[str, Any]:
    """The outbox row of one message, as the values of an INSERT."""
    priority = URGENT if message.urgent else priority
    return payload_row(user_id, address, key, message_payload(message), priority, now, not_before)


def payload_row(
    user_id: int | None,
    address: str,
    key: str,
    payload: dict[str, Any],
    priority: int,
    now: datetime,
    not_before: datetime | None = None,
) -> dict[str, Any]:
    """An outbox row for the sender: a message's payload, or a file's (``bot.files``)."""
    return {
        "key": key,
        "user_id": user_id,
        "address": address,
        "kind": "message",
        "payload": payload,
        "priority": priority,
        "status": "pending",
        "not_before": now if not_before is None else not_before,
        "attempts": 0,
        "created_at": now,
    }


_OUTBOX = cast(Table, OutboxRow.__table__)


async def enqueue(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Put ``rows`` (from ``outbox_row``) in the outbox, in one statement.

    A Core executemany, not ORM objects: nothing reads the new rows back in this step,
    and SQLite cannot return the ids of a multi-row INSERT in order, so the ORM would
    send one INSERT per message.
    """
    if rows:
        await session.execute(insert(_OUTBOX), rows)


def message_payload(message: Say) -> dict[str, Any]:
    return {
        "text": message.text,
        "question": message.question,
        "options": [[o.value, o.label] for o in message.options],
        "scale": list(message.scale) if message.scale else None,
    }


async def forget(session: AsyncSession, user_id: int) -> None:
    """Erase every row about the user, in every table that has a ``user_id``.

    The foreign keys cascade too; deleting explicitly keeps this true on a database
    where cascades are off, and a new table with a user_id is covered by itself.
    Check-in triggers have neither (see ``CheckinTrigger``): they go by episode.
    """
    episodes = select(EpisodeRow.id).where(EpisodeRow.user_id == user_id)
    await session.execute(delete(CheckinTrigger).where(CheckinTrigger.episode_id.in_(episodes)))
    for table in reversed(Base.metadata.sorted_tables):
        if "user_id" in table.c and table.name != "users":
            await session.execute(delete(table).where(table.c.user_id == user_id))
    await session.execute(delete(User).where(User.id == user_id))


async def first_sight(session: AsyncSession, source: str, key: str, now: datetime) -> bool:
    """Record an incoming event id; False if it was recorded before (a redelivery).

    Two replicas racing on the same id both pass the check; the unique constraint then
    fails one transaction, and its retry sees the row.
    """
    found = await session.execute(
        select(SeenEvent.id).where(SeenEvent.source == source, SeenEvent.event_key == key)
    )
    if found.first() is not None:
        return False
    session.add(SeenEvent(source=source, event_key=key, seen_at=now))
    return True


async def read_cursor(session: AsyncSession, name: str) -> str | None:
    row = await session.get(TransportCursor, name)
    return row.value if row is not None else None


async def write_cursor(session: AsyncSession, name: str, value: str, now: datetime) -> None:
    row = await session.get(TransportCursor, name)
    if row is None:
        session.add(TransportCursor(name=name, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
