"""The biweekly digest: plan issue N, then put one message per subscriber in the outbox.

Planning and enqueueing are idempotent: the issue row is created once (its number is
the primary key), each message has the outbox key ``digest:<user>:<N>``, and the issue
is marked complete only after the last batch. A planner that dies halfway, or a second
replica running at the same time, sends nobody anything twice and leaves nobody out:
the next run goes through the subscribers again and inserts only what is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from bot import reads, store
from bot.db.database import Database
from bot.db.models import ArticleRead, DigestIssue, DigestSubscription, OutboxRow, User
from content.loader import Content
from content.localized import Lang
from dialogs.actions import Option, Say
from dialogs.articles import read_command
from dialogs.digest import UNSUBSCRIBE
from dialogs.texts import M

BATCH = 2000  # subscribers per transaction: bounds memory (~10 MB) and lock time
VALUES_PER_INSERT = 1000


@dataclass(frozen=True)
class DigestSettings:
    every: timedelta = timedelta(days=14)
    top: int = 3
    hour: int = 18  # local delivery hour for subscribers without a check-in hour


async def ranking(db: Database, content: Content, now: datetime, window: timedelta) -> list[str]:
    """Every article, most read in the window first; ties (and unread ones) newest first."""
    async with db.session() as session:
        counts = dict(await reads.most_read(session, now - window, now, limit=1000))
    library = list(content.articles)
    library.sort(key=lambda a: (-counts.get(a.slug, 0), -a.date.toordinal(), a.slug))
    return [article.slug for article in library]


def personal(ranked: list[str], already_read: set[str], top: int) -> list[str]:
    """The issue for one subscriber: what they have read already moves down."""
    return sorted(ranked, key=lambda slug: (slug in already_read, ranked.index(slug)))[:top]


async def plan_issue(
    db: Database, content: Content, now: datetime, settings: DigestSettings, *, force: bool
) -> DigestIssue | None:
    """The issue to send now: an unfinished one, a new one when due (or forced), or None."""
    async with db.session() as session:
        latest = (
            await session.execute(select(DigestIssue).order_by(DigestIssue.number.desc()).limit(1))
        ).scalar_one_or_none()
    if latest is not None and latest.completed_at is None:
        return latest
    if latest is not None and not force and now - latest.planned_at < settings.every:
        return None
    issue = DigestIssue(
        number=(latest.number + 1) if latest is not None else 1,
        planned_at=now,
        period_start=now - settings.every,
        period_end=now,
        articles=await ranking(db, content, now, settings.every),
        recipients=0,
    )
    try:
        async with db.session() as session:
            session.add(issue)
    except IntegrityError:
        return None  # another replica planned this number a moment ago: it sends it
    return issue


async def enqueue_issue(
    db: Database,
    content: Content,
    issue: DigestIssue,
    now: datetime,
    settings: DigestSettings,
    *,
    batch: int = BATCH,
) -> int:
    """One outbox row per confirmed, reachable subscriber, in batches; returns how many new."""
    added, after = 0, 0
    while True:
        async with db.session() as session:
            subscribers = (
                await session.execute(
                    select(User.id, User.address, User.lang, User.tz, User.checkin_hour)
                    .join(DigestSubscription, DigestSubscription.user_id == User.id)
                    .where(
                        DigestSubscription.status == "active",
                        User.unreachable.is_(False),
                        User.id > after,
                    )
                    .order_by(User.id)
                    .limit(batch)
                )
            ).all()
            if not subscribers:
                break
            after = subscribers[-1].id
            read = await _already_read(session, [s.id for s in subscribers])
            rows = [
                _row(content, issue, s, read.get(s.id, set()), now, settings) for s in subscribers
            ]
            count = 0
            for start in range(0, len(rows), VALUES_PER_INSERT):  # SQLite's variable limit
                chunk = rows[start : start + VALUES_PER_INSERT]
                inserted = await session.execute(_insert_new(db.dialect, chunk))
                count += int(getattr(inserted, "rowcount", 0) or 0)
            added += count
            await session.execute(
                update(DigestIssue)
                .where(DigestIssue.number == issue.number)
                .values(recipients=DigestIssue.recipients + count)
            )
    async with db.session() as session:
        await session.execute(
            update(DigestIssue).where(DigestIssue.number == issue.number).values(completed_at=now)
        )
    return added


async def run_digest(
    db: Database,
    content: Content,
    now: datetime,
    settings: DigestSettings = DigestSettings(),
    *,
    force: bool = False,
) -> tuple[DigestIssue | None, int]:
    """The job: plan the issue if one is due (or unfinished) and queue it for everyone."""
    issue = await plan_issue(db, content, now, settings, force=force)
    if issue is None:
        return None, 0
    return issue, await enqueue_issue(db, content, issue, now, settings)


def render(content: Content, issue_number: int, slugs: Iterable[str], lang: Lang) -> Say:
    """The digest message: each article with its one-line summary and a button to read it."""
    articles = [content.articles[slug] for slug in slugs if slug in content.articles]
    lines = [content.text(M.DIGEST, lang, number=issue_number)]
    lines += [f"**{a.text(lang).title}**\n{a.text(lang).summary}" for a in articles]
    options = [Option(read_command(a.slug, 1, issue_number), a.text(lang).title) for a in articles]
    options.append(Option(UNSUBSCRIBE, content.text(M.UNSUBSCRIBE_BUTTON, lang)))
    return Say("\n\n".join(lines), options=tuple(options))


def delivery_time(now: datetime, tz: str, hour: int) -> datetime:
    """The next time it is ``hour`` o'clock where the subscriber lives (now, if it is)."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    today = datetime.combine(local.date(), time(hour), tzinfo=zone)
    if today.astimezone(UTC) >= now - timedelta(hours=1):
        return max(today.astimezone(UTC), now)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), time(hour), tzinfo=zone)
    return tomorrow.astimezone(UTC)


async def _already_read(session: Any, user_ids: list[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    rows = await session.execute(
        select(ArticleRead.user_id, ArticleRead.slug)
        .where(ArticleRead.user_id.in_(user_ids))
        .group_by(ArticleRead.user_id, ArticleRead.slug)
    )
    for user_id, slug in rows:
        found.setdefault(user_id, set()).add(slug)
    return found


def _row(
    content: Content,
    issue: DigestIssue,
    subscriber: Any,
    already_read: set[str],
    now: datetime,
    settings: DigestSettings,
) -> dict[str, Any]:
    lang: Lang = "de" if subscriber.lang == "de" else "en"
    slugs = personal(list(issue.articles), already_read, settings.top)
    hour = subscriber.checkin_hour if subscriber.checkin_hour is not None else settings.hour
    return store.outbox_row(
        user_id=subscriber.id,
        address=subscriber.address,
        key=f"digest:{subscriber.id}:{issue.number}",
        message=render(content, issue.number, slugs, lang),
        priority=store.BULK,
        now=now,
        not_before=delivery_time(now, subscriber.tz, hour),
    )


def _insert_new(dialect: str, rows: list[dict[str, Any]]) -> Any:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(OutboxRow).values(rows).on_conflict_do_nothing(index_elements=["key"])


async def issue_stats(db: Database) -> list[tuple[int, datetime, list[str], int, int]]:
    """Per issue: number, planned, articles (ranking), recipients, reads it brought."""
    async with db.session() as session:
        brought = dict(
            (
                await session.execute(
                    select(ArticleRead.issue, func.count(ArticleRead.id))
                    .where(ArticleRead.issue.is_not(None))
                    .group_by(ArticleRead.issue)
                )
            ).all()
        )
        issues = (await session.execute(select(DigestIssue).order_by(DigestIssue.number))).scalars()
        return [
            (i.number, i.planned_at, list(i.articles), i.recipients, int(brought.get(i.number, 0)))
            for i in issues
        ]
