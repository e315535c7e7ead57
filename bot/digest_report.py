"""What the operator sees of articles and the digest: the next issue, reads, past issues."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot import reads
from bot.config import Config
from bot.db.database import Database
from bot.db.models import ArticleRead, DigestIssue, DigestSubscription
from content.loader import Content
from scheduler.digest import DigestSettings, issue_stats, ranking, render


def settings_of(config: Config) -> DigestSettings:
    return DigestSettings(every=timedelta(days=config.digest_days), top=config.digest_top)


async def preview(db: Database, content: Content, now: datetime, settings: DigestSettings) -> str:
    """The next issue as it would go out now, in both languages; nothing is written."""
    async with db.session() as session:
        last = (await session.execute(select(func.max(DigestIssue.number)))).scalar()
        subscribers = (
            await session.execute(select(func.count()).where(DigestSubscription.status == "active"))
        ).scalar_one()
        counts = dict(await reads.most_read(session, now - settings.every, now, limit=1000))
    number = (last or 0) + 1
    ranked = await ranking(db, content, now, settings.every)
    lines = [
        f"Next issue: {number}, to {subscribers} confirmed subscribers "
        f"(reads counted over the last {settings.every.days} days).",
        "Ranking (a subscriber who read one already gets the next instead):",
    ]
    lines += [f"  {i}. {slug} ({counts.get(slug, 0)} reads)" for i, slug in enumerate(ranked, 1)]
    for lang in ("de", "en"):
        message = render(content, number, ranked[: settings.top], lang)
        buttons = ", ".join(f"[{o.label}]" for o in message.options)
        lines += ["", f"--- {lang} ---", message.text, buttons]
    return "\n".join(lines)


async def articles_stats(db: Database, content: Content, now: datetime, window: timedelta) -> str:
    async with db.session() as session:
        total = dict(
            (
                await session.execute(
                    select(ArticleRead.slug, func.count(ArticleRead.id)).group_by(ArticleRead.slug)
                )
            ).all()
        )
        recent = dict(await reads.most_read(session, now - window, now, limit=1000))
    lines = [f"{'article':40} {'reads':>7} {f'last {window.days} d':>10}"]
    for article in content.articles:
        slug = article.slug
        lines.append(f"{slug:40} {total.get(slug, 0):>7} {recent.get(slug, 0):>10}")
    issues = await issue_stats(db)
    lines += ["", f"{'issue':>5} {'planned':16} {'recipients':>10} {'reads':>6}  articles"]
    for number, planned, articles, recipients, brought in issues:
        top = ", ".join(articles[:3])
        lines.append(f"{number:>5} {planned:%Y-%m-%d %H:%M} {recipients:>10} {brought:>6}  {top}")
    if not issues:
        lines.append("  (no issue yet)")
    return "\n".join(lines)
