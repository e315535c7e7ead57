"""The biweekly digest on real databases: who gets it, what it holds, exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import SimClock
from bot.db.database import Database
from bot.db.models import DigestIssue, OutboxRow
from bot.sender import Sender
from bot.service import Service
from bot.transport import Delivery, Outgoing, SendResult
from dialogs import Choice, Text
from dialogs.articles import read_command
from scheduler.digest import DigestSettings, run_digest

START = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday, 10:00 in Berlin


class Inbox:
    """Records what each address was sent; ``after_send`` runs after each delivery."""

    prefix = "console"

    def __init__(self, after_send: Callable[[int], None] | None = None) -> None:
        self.sent: list[tuple[str, Outgoing]] = []
        self.after_send = after_send

    async def send(self, address: str, message: Outgoing) -> SendResult:
        self.sent.append((address, message))
        if self.after_send is not None:
            self.after_send(len(self.sent))
        return SendResult(Delivery.SENT)


async def say(service: Service, who: str, *texts: str) -> None:
    for text in texts:
        await service.handle(f"console:{who}", Text(text))


async def subscribed(service: Service, *people: str) -> None:
    """Each one subscribes and presses "yes" (the double opt-in)."""
    for who in people:
        await say(service, who, "/subscribe")
        await confirm(service, who)


async def confirm(service: Service, who: str) -> None:
    state = await service.state_of(f"console:{who}")
    assert state is not None
    await service.handle(f"console:{who}", Choice(str(state.turn), "yes"))


async def test_two_weeks_of_reads_make_the_issue(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    content, intents = shipped
    clock = SimClock(START)
    service = Service(database, content, intents, clock)
    for who in ("ann", "ben", "cem", "dan", "eve", "fay"):
        await say(service, who, "/subscribe")
    for who in ("ann", "ben", "cem", "dan", "fay"):
        await confirm(service, who)  # eve never confirms
    await say(service, "fay", "/unsubscribe")
    # Reads over two weeks: soreness 3, mistakes 2, warm-up 2 (the mistakes piece is newer).
    plan = {
        "soreness-or-injury": ["ann", "ben", "eve"],
        "seven-training-mistakes": ["cem", "dan"],
        "warm-up-the-right-way": ["ben", "fay"],
    }
    for day, (slug, readers) in enumerate(plan.items()):
        clock.set(START + timedelta(days=2 + 3 * day))
        for who in readers:
            await say(service, who, read_command(slug))
    clock.set(START + timedelta(days=14))
    issue, queued = await run_digest(database, content, clock.now())
    assert issue is not None and issue.number == 1 and queued == 4
    assert issue.articles[:3] == [
        "soreness-or-injury",
        "seven-training-mistakes",  # two reads, like warm-up, and the newer article
        "warm-up-the-right-way",
    ]
    async with database.session() as session:
        rows = (
            (await session.execute(select(OutboxRow).where(OutboxRow.key.like("digest:%"))))
            .scalars()
            .all()
        )
    by_address = {r.address.split(":")[1]: r for r in rows}
    assert set(by_address) == {"ann", "ben", "cem", "dan"}  # not eve (unconfirmed), not fay
    ann = [o[0] for o in by_address["ann"].payload["options"]]
    assert ann[0] == read_command("seven-training-mistakes", 1, 1)  # she read soreness already
    assert ann[-1] == "/unsubscribe"
    cem = [o[0] for o in by_address["cem"].payload["options"]]
    assert cem[0] == read_command("soreness-or-injury", 1, 1)
    berlin = by_address["cem"].not_before.astimezone(ZoneInfo("Europe/Berlin"))
    assert (berlin.hour, berlin.date()) == (18, (START + timedelta(days=14)).date())
    # Not due again for two weeks; a second run adds nothing.
    assert await run_digest(database, content, clock.now() + timedelta(hours=1)) == (None, 0)
    second, queued_again = await run_digest(
        database, content, clock.now() + timedelta(days=14), DigestSettings()
    )
    assert second is not None and second.number == 2 and queued_again == 4


async def test_a_planner_that_died_is_finished_without_duplicates(
    database: Database,
    shipped,  # type: ignore[no-untyped-def]
) -> None:
    content, intents = shipped
    clock = SimClock(START)
    service = Service(database, content, intents, clock)
    people = [f"p{i}" for i in range(7)]
    await subscribed(service, *people)
    # The first run dies after planning the issue and queueing one batch of three.
    from scheduler import digest

    issue = await digest.plan_issue(database, content, clock.now(), DigestSettings(), force=False)
    assert issue is not None
    async with database.session() as session:
        await session.execute(
            OutboxRow.__table__.delete().where(OutboxRow.key.like("digest:%"))  # nothing yet
        )
    first = await digest.enqueue_issue(
        database, content, issue, clock.now(), DigestSettings(), batch=3
    )
    async with database.session() as session:
        await session.execute(
            DigestIssue.__table__.update().values(completed_at=None)  # as if it died at the end
        )
    again, added = await run_digest(database, content, clock.now())
    assert first == 7 and again is not None and again.number == 1 and added == 0
    async with database.session() as session:
        keys = (
            (await session.execute(select(OutboxRow.key).where(OutboxRow.key.like("digest:%"))))
            .scalars()
            .all()
        )
        recorded = (await session.execute(select(DigestIssue.recipients))).scalar_one()
    assert len(keys) == len(set(keys)) == 7 and recorded == 7


async def test_a_sender_killed_halfway_delivers_everyone_exactly_once(
    database: Database,
    shipped,  # type: ignore[no-untyped-def]
) -> None:
    content, intents = shipped
    clock = SimClock(START)
    service = Service(database, content, intents, clock)
    people = [f"s{i}" for i in range(10)]
    await subscribed(service, *people)
    await run_digest(database, content, clock.now())
    clock.set(START.replace(hour=17, minute=5))  # 18:05 in Berlin: delivery time
    task: asyncio.Task[None] | None = None

    def die_after_five(count: int) -> None:
        if count == 5 and task is not None:
            task.cancel()  # the process stops right after the fifth delivery

    dying = Inbox(after_send=die_after_five)
    first = Sender(database, {"console": dying}, clock, concurrency=1)
    task = asyncio.create_task(first.run(poll_seconds=0.01))
    await asyncio.gather(task, return_exceptions=True)
    assert len(dying.sent) == 5
    fresh = Inbox()
    second = Sender(database, {"console": fresh}, clock)
    await second.recover()
    await second.flush()
    digests = Counter(
        a for a, m in [*dying.sent, *fresh.sent] if "Issue 1" in m.text or "Ausgabe 1" in m.text
    )
    assert digests == Counter({f"console:{who}": 1 for who in people})


class Blocking(Inbox):
    """``console:gone`` has blocked the bot: the platform refuses every message to them."""

    async def send(self, address: str, message: Outgoing) -> SendResult:
        if address == "console:gone":
            return SendResult(Delivery.UNREACHABLE, detail="Forbidden: bot was blocked")
        return await super().send(address, message)


async def test_a_subscriber_who_blocked_the_bot_is_unsubscribed(
    database: Database,
    shipped,  # type: ignore[no-untyped-def]
) -> None:
    from bot.stats import collect

    content, intents = shipped
    clock = SimClock(START)
    service = Service(database, content, intents, clock)
    await subscribed(service, "gone", "stay")
    await run_digest(database, content, clock.now())
    clock.set(START.replace(hour=17, minute=5))
    inbox = Blocking()
    await Sender(database, {"console": inbox}, clock).flush()
    assert {a for a, _ in inbox.sent} == {"console:stay"}
    assert sum("Issue 1" in m.text or "Ausgabe 1" in m.text for _, m in inbox.sent) == 1
    assert (await collect(database, clock.now())).digest_subscribers == 1
    issue, queued = await run_digest(database, content, clock.now(), force=True)
    assert issue is not None and issue.number == 2 and queued == 1
