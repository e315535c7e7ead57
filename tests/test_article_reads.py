"""Article reads on real databases: once per person, article and day; ranked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.clock import SimClock
from bot.db.database import Database
from bot.db.models import ArticleRead
from dialogs import Text
from dialogs.articles import PREVENTION, SORENESS, read_command
from tests.test_service_storage import build

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def test_reads_count_once_a_day_and_rank(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    clock = SimClock(START)
    service, sender, _ = build(database, shipped, clock)
    for who in ("a", "b", "c"):
        await service.handle(f"console:{who}", Text(read_command(PREVENTION)))
    await service.handle("console:a", Text(read_command(PREVENTION)))  # again, same day
    await service.handle("console:a", Text(read_command(SORENESS, 1, issue=3)))
    clock.advance(timedelta(days=1))
    await service.handle("console:a", Text(read_command(SORENESS)))  # a new day counts
    async with database.session() as session:
        rows = (await session.execute(select(ArticleRead.slug, ArticleRead.issue))).all()
    assert sorted(rows, key=str) == sorted(
        [(PREVENTION, None)] * 3 + [(SORENESS, 3), (SORENESS, None)], key=str
    )
    clock.advance(timedelta(minutes=10))  # past the cache of the ranking
    listing = await service.handle("console:d", Text("/articles"))
    assert listing is not None
    library = shipped[0].articles
    expected = f"Am meisten gelesen: {library[PREVENTION].de.title}, {library[SORENESS].de.title}"
    assert expected in listing.messages[0].text
    await sender.flush()
