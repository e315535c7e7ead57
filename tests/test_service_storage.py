"""The service on real databases (SQLite file and PostgreSQL): what is stored, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from bot import store
from bot.clock import SimClock
from bot.db.database import Database
from bot.db.models import Base, CheckinTrigger, EpisodeRow
from bot.sender import Sender
from bot.service import Service
from bot.transport import Delivery, Outgoing, SendResult
from content.loader import Content
from dialogs import Choice, Text
from dialogs.intents import Matcher
from scheduler import checkins

ADDRESS = "console:t"


class RecordingTransport:
    """Stands in for a platform at the edge only: records what it was asked to send."""

    prefix = "console"

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, address: str, message: Outgoing) -> SendResult:
        self.sent.append(message)
        return SendResult(Delivery.SENT)


async def talk(service: Service, sender: Sender, out: RecordingTransport, *answers: str) -> None:
    for answer in answers:
        last = next((m for m in reversed(out.sent) if m.options), None)
        values = [o.value for o in last.options] if last else []
        if last is not None and last.question and answer in values:
            await service.handle(ADDRESS, Choice(last.question, answer))
        else:
            await service.handle(ADDRESS, Text(answer))
        await sender.flush()


def build(database: Database, shipped: tuple[Content, Matcher], clock: SimClock):  # type: ignore[no-untyped-def]
    out = RecordingTransport()
    sender = Sender(database, {"console": out}, clock)
    service = Service(database, shipped[0], shipped[1], clock, on_outbox=sender.notify)
    return service, sender, out


ENROL = ["my back hurts", "agree", *["no"] * 12, "later", "dull", "row", "yes", "6", "morning"]


async def count_rows(database: Database) -> dict[str, int]:
    async with database.session() as session:
        return {
            t.name: int((await session.execute(select(func.count()).select_from(t))).scalar_one())
            for t in Base.metadata.sorted_tables
        }


async def test_no_health_data_without_consent(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    service, sender, out = build(database, shipped, SimClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    await talk(service, sender, out, "my back hurts", "decline")
    counts = await count_rows(database)
    assert counts["consents"] == counts["triage_answers"] == counts["pain_scores"] == 0
    assert counts["episodes"] == 0 and "112" in out.sent[-1].text


async def test_week_of_checkins_is_claimed_once_each_and_delete_erases_all(
    database: Database,
    shipped,  # type: ignore[no-untyped-def]
) -> None:
    clock = SimClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    service, sender, out = build(database, shipped, clock)
    await talk(service, sender, out, *ENROL)
    for day in range(1, 4):
        clock.set(datetime(2026, 3, 2 + day, 8, 30, tzinfo=UTC))
        assert await checkins.claim_due(database, clock.now()) == 1
        assert await checkins.claim_due(database, clock.now()) == 0  # a second tick finds none
        await checkins.tick(database, service, clock.now())
        await sender.flush()
        await talk(service, sender, out, "5", "same", "no")
    async with database.session() as session:
        days = list(await session.scalars(select(CheckinTrigger.day)))
    assert sorted(days) == [1, 2, 3]
    counts = await count_rows(database)
    assert counts["pain_scores"] == 4 and counts["triage_answers"] == 15

    await talk(service, sender, out, "/delete", "yes")
    counts = await count_rows(database)
    assert all(n == 0 for n in counts.values()), counts
    assert "delete" in out.sent[-1].text.lower() or "lösch" in out.sent[-1].text.lower()


async def test_a_check_in_claimed_as_its_person_was_erased_says_nothing(
    database: Database,
    shipped,  # type: ignore[no-untyped-def]
) -> None:
    """The trigger table has no foreign key: a claim racing /delete can leave a trigger
    behind. Running it must neither write to the address nor bring the person back."""
    clock = SimClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    service, sender, out = build(database, shipped, clock)
    await talk(service, sender, out, *ENROL)
    clock.set(datetime(2026, 3, 3, 8, 30, tzinfo=UTC))
    assert await checkins.claim_due(database, clock.now()) == 1
    async with database.session() as session:
        claimed = (await session.scalars(select(CheckinTrigger))).one()
        leftover = {c.name: getattr(claimed, c.name) for c in CheckinTrigger.__table__.c}
    await talk(service, sender, out, "/delete", "yes")
    assert (await count_rows(database))["checkin_triggers"] == 0  # /delete took it too
    async with database.session() as session:  # the racing claim's row, as it committed
        session.add(CheckinTrigger(**leftover))
    told = len(out.sent)

    assert await checkins.tick(database, service, clock.now()) == 1
    await sender.flush()
    assert len(out.sent) == told
    counts = await count_rows(database)
    assert counts["users"] == counts["outbox"] == 0
    async with database.session() as session:
        assert (await session.scalars(select(CheckinTrigger.status))).all() == ["done"]


async def test_the_episode_row_mirrors_the_state_after_every_step(
    database: Database,
    shipped,  # type: ignore[no-untyped-def]
) -> None:
    """The columns reports and the tick read stay true to the conversation state, also
    for the steps that change the episode only in the state (a pain score, an onset)."""
    clock = SimClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    service, sender, out = build(database, shipped, clock)
    answers = list(ENROL)
    for day in range(1, 6):
        answers += [f"::day {day}", "5", "same", "no"]  # not better: escalates from day 4
    for answer in answers:
        if answer.startswith("::day"):
            clock.set(datetime(2026, 3, 2 + int(answer[6:]), 8, 30, tzinfo=UTC))
            await checkins.tick(database, service, clock.now())
            await sender.flush()
        else:
            clock.advance(timedelta(seconds=30))
            await talk(service, sender, out, answer)
        state = await service.state_of(ADDRESS)
        if state is None or state.episode is None:
            continue
        episode = state.episode
        async with database.session() as session:
            row = (await session.scalars(select(EpisodeRow))).one()
        assert (row.seq, row.status, row.red_flag, row.assessment, row.lift) == (
            episode.seq,
            episode.status,
            episode.red_flag,
            episode.assessment,
            episode.lift,
        ), answer
        assert (row.start_date, row.escalated, row.outcome) == (
            episode.start_date,
            episode.escalated,
            episode.outcome,
        ), answer
        assert (row.next_checkin_at, row.next_checkin_day) == (episode.next_at, episode.next_day)
    assert row.escalated and row.escalated_at is not None  # the plan escalated on day 4
    assert row.escalated_at == datetime(2026, 3, 6, 8, 31, 30, tzinfo=UTC)


async def test_restart_goes_on_where_the_person_was(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    clock = SimClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    service, sender, out = build(database, shipped, clock)
    await talk(service, sender, out, "my back hurts", "agree", "no", "no")
    service2, sender2, out2 = build(database, shipped, clock)  # a fresh process, same database
    out2.sent = out.sent
    await talk(service2, sender2, out2, "no")
    state = await service2.state_of(ADDRESS)
    assert state is not None and state.index == 3


async def test_postgres_schema_is_migrated_not_created(database: Database) -> None:
    async with database.session() as session:
        version = (await session.execute(text("select version_num from alembic_version"))).scalar()
    assert version == "0008"


async def test_a_redelivered_event_is_handled_once(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    clock = SimClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    service, sender, out = build(database, shipped, clock)
    first = await service.handle(ADDRESS, Text("my back hurts"), seen=("test", "update-1"))
    again = await service.handle(ADDRESS, Text("my back hurts"), seen=("test", "update-1"))
    other_source = await service.handle(ADDRESS, Text("/help"), seen=("other", "update-1"))
    await sender.flush()
    assert first is not None and again is None and other_source is not None
    assert len(out.sent) == len(first.messages) + len(other_source.messages)


async def test_cursor_is_kept_and_replaced(database: Database) -> None:
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    async with database.session() as session:
        assert await store.read_cursor(session, "telegram:offset") is None
        await store.write_cursor(session, "telegram:offset", "41", now)
    async with database.session() as session:
        await store.write_cursor(session, "telegram:offset", "42", now)
    async with database.session() as session:
        assert await store.read_cursor(session, "telegram:offset") == "42"


async def test_migrations_match_the_models(database: Database) -> None:
    """A model changed without a migration would make production differ from the tests."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def diff(connection):  # type: ignore[no-untyped-def]
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with database.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []
