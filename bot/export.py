"""/export: everything stored about one person, as versioned JSON and a CSV of pain scores.

The JSON document (``format`` "backcoach-export", ``version`` 2; raise the version when
a key changes meaning or goes away; version 1 had the claimed check-ins among the
``messages``, with kind "checkin")::

    {
      "format": "backcoach-export", "version": 2,
      "exported_at": "2026-03-09T08:00:00+00:00",   # ISO 8601, UTC
      "profile": {address, lang, tz, checkin_hour, consent_version, unreachable,
                  created_at, last_seen_at},
      "conversation": {"state": {...the dialog state...}, "updated_at": ...} | null,
      "consents": [{version, given, at}],
      "episodes": [{seq, started_at, status, red_flag, assessment, lift, start_date,
                    escalated, outcome, next_checkin_at, next_checkin_day, closed_at}],
      "triage_answers": [{episode_seq, question, answer, rules_version, at}],
      "pain_scores": [{episode_seq, day, score, trend, at}],
      "checkin_schedule": [{episode_id, day, due_at}],            # the next check-in
      "checkins": [{episode_id, day, address, due_at, status, created_at, done_at}],
      "article_reads": [{slug, day, issue, at}],
      "digest_subscription": {status, asked_at, confirmed_at} | null,
      "messages": [{key, address, kind, payload, priority, status, not_before,
                    attempts, created_at, sent_at, error}]     # the outbox
    }

Every column of those tables is written except the internal ``id`` and ``user_id``, so a
column added to a table shows up here by itself; ``SECTIONS`` names the table of each
key, and a test checks that every table with a ``user_id`` has one (``checkins`` has
none: its rows are found through the person's episodes).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.codec import load_state
from bot.db.models import (
    ArticleRead,
    Base,
    CheckinSchedule,
    CheckinTrigger,
    ConsentRecord,
    Conversation,
    DigestSubscription,
    EpisodeRow,
    OutboxRow,
    PainScore,
    TriageAnswer,
    User,
)
from dialogs.states import State

FORMAT, VERSION = "backcoach-export", 2
CSV_COLUMNS = ("episode", "day", "score", "trend", "recorded_at")
# The JSON key of each table that holds rows about a person.
SECTIONS: dict[str, type[Base]] = {
    "profile": User,
    "conversation": Conversation,
    "consents": ConsentRecord,
    "episodes": EpisodeRow,
    "triage_answers": TriageAnswer,
    "pain_scores": PainScore,
    "checkin_schedule": CheckinSchedule,
    "checkins": CheckinTrigger,
    "article_reads": ArticleRead,
    "digest_subscription": DigestSubscription,
    "messages": OutboxRow,
}
_INTERNAL = frozenset({"id", "user_id"})
R = TypeVar("R", bound=Base)


@dataclass(frozen=True)
class Export:
    """The rows about one person, read in one unit of work."""

    exported_at: datetime
    profile: User
    conversation: Conversation | None
    consents: Sequence[ConsentRecord]
    episodes: Sequence[EpisodeRow]
    triage_answers: Sequence[TriageAnswer]
    pain_scores: Sequence[PainScore]
    checkin_schedule: Sequence[CheckinSchedule]
    checkins: Sequence[CheckinTrigger]
    article_reads: Sequence[ArticleRead]
    digest_subscription: DigestSubscription | None
    messages: Sequence[OutboxRow]

    @property
    def state(self) -> State | None:
        """The dialog state, or None (no conversation, or one the code no longer reads)."""
        return load_state(self.conversation.state) if self.conversation is not None else None

    def rows(self) -> dict[str, list[Base]]:
        """Each section's rows, keyed as in ``SECTIONS`` (a single row is a list of one)."""
        return {key: _as_list(getattr(self, key)) for key in SECTIONS}

    def scores(self, episode_seq: int) -> list[tuple[int, int]]:
        """(plan day, score) of one episode, by day: what the chart draws."""
        return [(p.day, p.score) for p in self.pain_scores if p.episode_seq == episode_seq]

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": _jsonable(self.exported_at),
        }
        for key, rows in self.rows().items():
            values = [_columns(row) for row in rows]
            single = SECTIONS[key] in (User, Conversation, DigestSubscription)
            data[key] = (values[0] if values else None) if single else values
        return data

    def json_bytes(self) -> bytes:
        return json.dumps(self.as_json(), ensure_ascii=False, indent=2).encode("utf-8")

    def pain_csv_bytes(self) -> bytes:
        """One row per pain score: episode, plan day, score 0–10, trend, recorded_at (UTC)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for p in self.pain_scores:
            writer.writerow((p.episode_seq, p.day, p.score, p.trend or "", _jsonable(p.at)))
        return out.getvalue().encode("utf-8")


async def export_user(session: AsyncSession, user_id: int, now: datetime | None = None) -> Export:
    """Everything stored about ``user_id``: one query for the user, one per list of rows.

    Raises LookupError when there is no such user (find them with ``find_user_id``).
    """
    head = (
        await session.execute(
            select(User, Conversation, DigestSubscription)
            .outerjoin(Conversation, Conversation.user_id == User.id)
            .outerjoin(DigestSubscription, DigestSubscription.user_id == User.id)
            .where(User.id == user_id)
        )
    ).first()
    if head is None:
        raise LookupError(f"no user with id {user_id}")
    user, conversation, subscription = head
    episodes = select(EpisodeRow.id).where(EpisodeRow.user_id == user_id)
    return Export(
        exported_at=now or datetime.now(UTC),
        profile=user,
        conversation=conversation,
        consents=await _of(session, ConsentRecord, user_id, ConsentRecord.id),
        episodes=await _of(session, EpisodeRow, user_id, EpisodeRow.seq),
        triage_answers=await _of(session, TriageAnswer, user_id, TriageAnswer.id),
        pain_scores=await _of(session, PainScore, user_id, PainScore.episode_seq, PainScore.day),
        checkin_schedule=await _of(session, CheckinSchedule, user_id, CheckinSchedule.episode_id),
        checkins=(
            await session.scalars(
                select(CheckinTrigger)
                .where(CheckinTrigger.episode_id.in_(episodes))
                .order_by(CheckinTrigger.episode_id, CheckinTrigger.day)
            )
        ).all(),
        article_reads=await _of(session, ArticleRead, user_id, ArticleRead.id),
        digest_subscription=subscription,
        messages=await _of(session, OutboxRow, user_id, OutboxRow.id),
    )


async def find_user_id(session: AsyncSession, address: str) -> int | None:
    """The id of the user at ``address`` (e.g. ``telegram:42``), or None."""
    found = await session.execute(select(User.id).where(User.address == address))
    return found.scalar_one_or_none()


async def _of(session: AsyncSession, model: type[R], user_id: int, *order: Any) -> Sequence[R]:
    column = model.__table__.c.user_id
    rows = await session.execute(select(model).where(column == user_id).order_by(*order))
    return rows.scalars().all()


def _as_list(value: Base | Sequence[Base] | None) -> list[Base]:
    if value is None:
        return []
    if isinstance(value, Base):
        return [value]
    return list(value)


def _columns(row: Base) -> dict[str, Any]:
    return {key: _jsonable(getattr(row, key)) for key in _keys(type(row))}


@cache
def _keys(model: type[Base]) -> tuple[str, ...]:
    """The exported attributes of a model (inspecting it per row costs a third of the JSON)."""
    return tuple(a.key for a in inspect(model).column_attrs if a.key not in _INTERNAL)


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
