"""The tables: typed SQLAlchemy 2 models.

Health data (triage answers, pain scores, the conversation state during a plan) is
stored only after consent; every row hangs off ``users`` with ON DELETE CASCADE, so
deleting the user cannot forget a table. The one exception is ``checkin_triggers``
(no foreign key, for the tick's speed): ``store.forget`` deletes those explicitly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# SQLite wants INTEGER PRIMARY KEY for its rowid alias; PostgreSQL gets BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


def _user_fk() -> Any:
    return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class User(Base):
    """A person on one platform; ``address`` is the transport key, e.g. ``telegram:42``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    address: Mapped[str] = mapped_column(String(255), unique=True)
    lang: Mapped[str] = mapped_column(String(5))
    tz: Mapped[str] = mapped_column(String(64))
    checkin_hour: Mapped[int | None]
    consent_version: Mapped[int | None]
    unreachable: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class Conversation(Base):
    """Where the dialog stands for a user: the serialised ``dialogs.State``."""

    __tablename__ = "conversations"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class ConsentRecord(Base):
    """Each time consent was given or withdrawn, with the version of its text."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    version: Mapped[int]
    given: Mapped[bool]
    at: Mapped[datetime]


class EpisodeRow(Base):
    """One bout of back pain and its plan.

    ``next_checkin_at``/``next_checkin_day`` mirror the conversation state for reports;
    what the tick looks for is the episode's row in ``checkin_schedule``.
    """

    __tablename__ = "episodes"
    __table_args__ = (UniqueConstraint("user_id", "seq", name="uq_episodes_user_seq"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    seq: Mapped[int]
    started_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    red_flag: Mapped[str | None] = mapped_column(String(16))
    assessment: Mapped[str | None] = mapped_column(String(16))
    lift: Mapped[str | None] = mapped_column(String(16))
    start_date: Mapped[date | None] = mapped_column(Date)
    escalated: Mapped[bool] = mapped_column(default=False)
    # When the plan was escalated (to a physio or doctor); empty for plans escalated
    # before migration 0008, which did not record it.
    escalated_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    next_checkin_at: Mapped[datetime | None]
    next_checkin_day: Mapped[int | None]
    closed_at: Mapped[datetime | None]


class CheckinSchedule(Base):
    """The next check-in of an active plan: the tick's queue of who is due when.

    One narrow row per episode, written by the dialog step that sets the next check-in.
    The tick claims a due row by deleting it, which is far cheaper for PostgreSQL than
    updating the wide, indexed ``episodes`` row (no new index entries, ~1 WAL record).
    """

    __tablename__ = "checkin_schedule"

    episode_id: Mapped[int] = mapped_column(
        ForeignKey("episodes.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    user_id: Mapped[int] = _user_fk()
    day: Mapped[int]
    due_at: Mapped[datetime] = mapped_column(index=True)


# A claimed check-in is identified by its key: (episode id, plan day).
TriggerKey = tuple[int, int]


class CheckinTrigger(Base):
    """A claimed check-in, under its unique key (episode, plan day), run once.

    The tick writes these by the hundred thousand at a busy hour, so the table is kept
    narrow: its key is the primary key, the queue index covers pending rows only, and
    there is no foreign key (checking one per row doubled the claim's cost). Erasing a
    user or an episode deletes its triggers explicitly (``store.forget``, retention);
    a trigger whose episode is gone is settled without a word.
    """

    __tablename__ = "checkin_triggers"
    __table_args__ = (
        Index(
            "ix_checkin_triggers_pending",
            "due_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    episode_id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    address: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # pending, then done
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]

    @property
    def key(self) -> str:
        """The base of its messages' outbox keys: ``checkin:<episode>:<day>:<n>``."""
        return f"checkin:{self.episode_id}:{self.day}"


class TriageAnswer(Base):
    """An answer to a red-flag or soreness question, with the rule set's version."""

    __tablename__ = "triage_answers"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    episode_seq: Mapped[int]
    question: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(String(32))
    rules_version: Mapped[int]
    at: Mapped[datetime]


class PainScore(Base):
    """A 0–10 pain score on a plan day (day 0 is the baseline at enrolment)."""

    __tablename__ = "pain_scores"
    __table_args__ = (UniqueConstraint("user_id", "episode_seq", "day", name="uq_pain_scores_day"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    episode_seq: Mapped[int]
    day: Mapped[int]
    score: Mapped[int]
    trend: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime]


class OutboxRow(Base):
    """Something to deliver, under a unique key so nothing goes out twice.

    ``kind`` is ``message`` (a rendered message for the sender); due check-ins, before
    the dialogs turn them into messages, wait in ``checkin_triggers``. (Until migration
    0007 they were outbox rows of kind ``checkin``.)

    On PostgreSQL a row being sent carries a lease: ``leased_by`` (the worker's id) holds
    it until ``lease_until``; a ``sending`` row whose lease ran out belongs to a dead
    worker and is taken over (see ``bot.sender``). SQLite leaves both empty.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "kind", "status", "priority", "not_before"),
        # Claiming on PostgreSQL checks that no earlier message to the address is due or
        # in flight (the order of one conversation across workers).
        # Messages only: the check-in triggers (a hundred thousand at a busy hour) need
        # no such index, and skipping it makes their claim cheaper.
        Index(
            "ix_outbox_address_status",
            "address",
            "status",
            postgresql_where=text("kind = 'message'"),
            sqlite_where=text("kind = 'message'"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]]
    priority: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    not_before: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(64))


class TransportCursor(Base):
    """Where a transport stopped reading (a Telegram update offset, a Matrix sync token).

    Written only after the events before it were handled, so a restart resumes there.
    """

    __tablename__ = "transport_cursors"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class SeenEvent(Base):
    """An incoming event already handled (a Telegram update_id, a Matrix event id).

    Inserted in the same transaction as the dialog step it caused, so a redelivered
    event is handled exactly once. Old rows are pruned; redeliveries come within minutes.
    """

    __tablename__ = "seen_events"
    __table_args__ = (UniqueConstraint("source", "event_key", name="uq_seen_events_source_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    event_key: Mapped[str] = mapped_column(String(255))
    seen_at: Mapped[datetime] = mapped_column(index=True)


class ArticleRead(Base):
    """Someone opened an article: counted once per person, article and (their local) day.

    ``issue`` is the digest issue whose button they used, to tell what each issue brought.
    """

    __tablename__ = "article_reads"
    __table_args__ = (
        UniqueConstraint("user_id", "slug", "day", name="uq_article_reads_user_slug_day"),
        Index("ix_article_reads_at_slug", "at", "slug"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    slug: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    issue: Mapped[int | None]
    at: Mapped[datetime]


class DigestSubscription(Base):
    """Who gets the digest: ``pending`` until they confirm (double opt-in), then ``active``."""

    __tablename__ = "digest_subscriptions"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    asked_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]


class DigestIssue(Base):
    """What one digest issue held, and how many it went to."""

    __tablename__ = "digest_issues"

    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    planned_at: Mapped[datetime]
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    articles: Mapped[list[str]] = mapped_column(JSON)
    recipients: Mapped[int] = mapped_column(default=0)
    # Set when every subscriber's message is in the outbox; a planner that died before
    # that is finished by the next run (the outbox keys make the rest idempotent).
    completed_at: Mapped[datetime | None]
