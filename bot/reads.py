"""Article reads: recorded once per person, article and local day; ranked for lists."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ArticleRead
from dialogs.actions import RecordRead

WINDOW = timedelta(days=14)  # "most read" means: in the last two weeks


async def record(
    session: AsyncSession, user_id: int, action: RecordRead, now: datetime, tz: str
) -> bool:
    """Count a read unless this person read this article today already; True if counted."""
    day = now.astimezone(ZoneInfo(tz)).date()
    found = await session.execute(
        select(ArticleRead.id).where(
            ArticleRead.user_id == user_id, ArticleRead.slug == action.slug, ArticleRead.day == day
        )
    )
    if found.first() is not None:
        return False
    session.add(ArticleRead(user_id=user_id, slug=action.slug, day=day, issue=action.issue, at=now))
    return True


async def most_read(
    session: AsyncSession, since: datetime, until: datetime, limit: int = 10
) -> list[tuple[str, int]]:
    """Slugs by reads in ``[since, until)``, most first (ties: the caller decides)."""
    count = func.count(ArticleRead.id)
    rows = await session.execute(
        select(ArticleRead.slug, count)
        .where(ArticleRead.at >= since, ArticleRead.at < until)
        .group_by(ArticleRead.slug)
        .order_by(count.desc(), ArticleRead.slug)
        .limit(limit)
    )
    return [(slug, int(n)) for slug, n in rows]
