"""The retention job on SQLite and PostgreSQL: what goes, what stays, and what is logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import ConfigError, load_config
from bot.db.database import Database
from bot.db.models import (
    Base,
    ConsentRecord,
    EpisodeRow,
    OutboxRow,
    PainScore,
    SeenEvent,
    TriageAnswer,
    User,
)
from dialogs import Text
from scheduler.jobs import build_scheduler
from scheduler.retention import Counts, Policy, count_due, run_retention
from tests.test_stats import Clinic, enrol

T0 = datetime(2025, 1, 6, 9, tzinfo=UTC)
NOW = T0 + timedelta(days=400)  # the day retention runs
POLICY = Policy(closed_days=180, inactive_days=365)


async def user_id(database: Database, who: str) -> int:
    async with database.session() as session:
        found = await session.scalar(select(User.id).where(User.address == f"console:{who}"))
    assert found is not None
    return found


async def rows_of(database: Database, uid: int) -> dict[str, int]:
    """How many rows of every table with a user column belong to ``uid``."""
    counts: dict[str, int] = {}
    async with database.session() as session:
        for table in Base.metadata.sorted_tables:
            column = table.c.get("user_id") if table.name != "users" else table.c.id
            if column is not None:
                result = await session.execute(select(column).where(column == uid))
                counts[table.name] = len(result.all())
    return counts


async def history(database: Database, shipped) -> Clinic:  # type: ignore[no-untyped-def]
    """ann: a plan stopped at T0, still writing now; ben: a plan stopped 100 days ago;
    cat: enrolled at T0 and never seen again; dan: in the middle of a plan now."""
    clinic = Clinic(database, shipped, T0)
    for who in ("ann", "cat"):
        await clinic.says(who, *enrol("later", 6))
    await clinic.says("ann", "/stop", "yes")
    await clinic.service.handle("console:cat", Text("/help"), seen=("test", "old-update"))
    clinic.clock.set(NOW - timedelta(days=100))
    await clinic.says("ben", *enrol("later", 5), "/stop", "yes")
    clinic.clock.set(NOW - timedelta(days=10))
    await clinic.says("ann", "/help")
    clinic.clock.set(NOW - timedelta(days=1))
    await clinic.says("dan", *enrol("hours", 7))
    await clinic.service.handle("console:dan", Text("/help"), seen=("test", "new-update"))
    await clinic.sender.flush()
    clinic.clock.set(NOW)
    return clinic


@pytest.mark.parametrize("batch", [1, 1000])
async def test_retention_deletes_what_is_due_and_nothing_else(
    database: Database,
    shipped,  # type: ignore[no-untyped-def]
    batch: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clinic = await history(database, shipped)
    ids = {who: await user_id(database, who) for who in ("ann", "ben", "cat", "dan")}
    before = {who: await rows_of(database, uid) for who, uid in ids.items()}
    planned = await count_due(database, NOW, POLICY)

    caplog.set_level(logging.INFO)
    counts = await run_retention(database, NOW, POLICY, batch=batch)

    assert (counts.users, counts.episodes) == (1, 1)
    assert (counts.triage_answers, counts.pain_scores) == (15, 1)  # ann's 12 + 3, baseline
    assert counts.seen_events == 1 and counts.outbox > 0
    assert counts == planned  # the dry run counted exactly this
    assert all(n == 0 for n in (await rows_of(database, ids["cat"])).values())

    ann = await rows_of(database, ids["ann"])
    assert ann["episodes"] == ann["triage_answers"] == ann["pain_scores"] == 0
    assert ann["users"] == 1 and ann["consents"] == before["ann"]["consents"] == 1
    state = await clinic.service.state_of("console:ann")
    assert state is not None and state.episode is None and state.episodes_started == 1
    for who in ("ben", "dan"):  # a plan closed 100 days ago, a running plan
        kept = await rows_of(database, ids[who])
        assert {k: kept[k] for k in ("episodes", "triage_answers", "pain_scores")} == {
            k: before[who][k] for k in ("episodes", "triage_answers", "pain_scores")
        }
    async with database.session() as session:
        oldest = await session.scalar(select(OutboxRow.created_at).order_by(OutboxRow.created_at))
        seen = list(await session.scalars(select(SeenEvent.event_key)))
    assert oldest is not None and oldest >= NOW - timedelta(days=180)
    assert seen == ["new-update"]

    # Only counts are logged: no address, no answer.
    logged = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("scheduler"))
    assert "retention: deleted users 1, episodes 1" in logged
    assert "console:" not in logged and "later" not in logged

    assert await run_retention(database, NOW, POLICY, batch=batch) == Counts()


async def test_a_person_whose_old_episode_was_deleted_can_start_again(
    database: Database,
    shipped,  # type: ignore[no-untyped-def]
) -> None:
    clinic = await history(database, shipped)
    await run_retention(database, NOW, POLICY)
    await clinic.says("ann", *[a for a in enrol("later", 4) if a != "agree"])  # consent kept
    state = await clinic.service.state_of("console:ann")
    assert state is not None and state.episode is not None
    assert state.episode.seq == 2 and state.episode.status == "active"
    uid = await user_id(database, "ann")
    async with database.session() as session:

        async def of_ann(column: Any) -> list[Any]:
            model = column.class_
            return list(await session.scalars(select(column).where(model.user_id == uid)))

        assert await of_ann(EpisodeRow.seq) == [2]
        assert await of_ann(PainScore.score) == [4]  # the new baseline only
        assert set(await of_ann(TriageAnswer.episode_seq)) == {2}
        assert await of_ann(ConsentRecord.version) == [1]


def test_retention_settings() -> None:
    config = load_config({})
    assert (config.retention_days, config.inactive_days) == (180, 365)
    config = load_config({"BACKCOACH_RETENTION_DAYS": "30", "BACKCOACH_INACTIVE_DAYS": "90"})
    assert (config.retention_days, config.inactive_days) == (30, 90)
    for bad in ("0", "-3", "1.5", "soon"):
        with pytest.raises(ConfigError, match="BACKCOACH_RETENTION_DAYS"):
            load_config({"BACKCOACH_RETENTION_DAYS": bad})


async def test_retention_is_a_daily_job() -> None:
    async def job() -> None:
        return None

    scheduler = build_scheduler(job, 60, retention=job)
    retention = scheduler.get_job("retention")
    assert retention is not None and retention.max_instances == 1
    assert str(retention.trigger) == "cron[hour='3', minute='17']"
    assert build_scheduler(job, 60).get_job("retention") is None
