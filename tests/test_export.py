"""/export on SQLite and PostgreSQL: complete for one person, nothing of anyone else."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot import store
from bot.db.database import Database
from bot.db.models import Base, CheckinTrigger, PainScore, User
from bot.export import CSV_COLUMNS, FORMAT, SECTIONS, Export, export_user, find_user_id
from content.loader import Content
from dialogs.articles import PREVENTION, SORENESS, read_command
from dialogs.intents import Matcher
from tests.test_stats import Clinic, enrol, enrol_with_warning_sign

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
# ann: a full week, scores falling (6 → 2), two reads, the digest confirmed.
ANN_WEEK = [("5", "better"), ("4", "better"), ("4", "same"), ("3", "better")]
ANN_WEEK += [("3", "same"), ("2", "better"), ("2", "same")]


async def full_week(database: Database, shipped: tuple[Content, Matcher]) -> Clinic:
    """ann has a complete plan, reads and a subscription; bob escalates on day 1."""
    clinic = Clinic(database, shipped)
    await clinic.says("ann", *enrol("later", 6), read_command(SORENESS))
    await clinic.says("bob", *enrol_with_warning_sign(8), read_command(PREVENTION))
    for day, (score, trend) in enumerate(ANN_WEEK, start=1):
        await clinic.checkin_day(day)
        await clinic.says("ann", score, trend, "no")
        if day == 1:
            await clinic.says("bob", "8", "same", "yes", "no", "no")
    await clinic.says("ann", read_command(PREVENTION), "/subscribe", "yes")
    return clinic


async def export_of(database: Database, address: str) -> Export:
    async with database.session() as session:
        user_id = await find_user_id(session, address)
        assert user_id is not None
        return await export_user(session, user_id, now=NOW)


async def test_every_row_about_the_person_is_exported(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    await full_week(database, shipped)
    export = await export_of(database, "console:ann")
    rows = export.rows()
    section_of = {model.__tablename__: key for key, model in SECTIONS.items()}
    async with database.session() as session:
        for table in Base.metadata.sorted_tables:
            if "user_id" not in table.c:
                continue
            stored = await session.scalar(
                select(func.count()).select_from(table).where(table.c.user_id == export.profile.id)
            )
            assert len(rows[section_of[table.name]]) == stored, table.name
    # The week really is in there: every table has rows for ann, except the schedule
    # (her plan is over, so no check-in is ahead).
    assert not rows["checkin_schedule"]
    assert all(v for k, v in rows.items() if k != "checkin_schedule"), rows.keys()
    episode_id = export.episodes[0].id
    assert [(c.episode_id, c.day, c.status) for c in export.checkins] == [
        (episode_id, day, "done") for day in range(1, 8)
    ]
    assert [s.day for s in export.pain_scores] == list(range(8))
    assert export.digest_subscription is not None
    assert export.digest_subscription.status == "active"
    assert export.state is not None and export.state.profile.digest == "on"


def test_every_table_with_a_user_id_has_a_section() -> None:
    covered = {model.__tablename__ for model in SECTIONS.values()}
    with_user = {t.name for t in Base.metadata.sorted_tables if "user_id" in t.c}
    # Check-in triggers have no user_id (see CheckinTrigger); they come by episode.
    assert with_user | {User.__tablename__, CheckinTrigger.__tablename__} == covered


async def test_json_is_versioned_and_matches_the_rows(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    await full_week(database, shipped)
    export = await export_of(database, "console:ann")
    data = json.loads(export.json_bytes())
    assert (data["format"], data["version"]) == (FORMAT, 2)
    assert data["exported_at"] == "2026-03-10T12:00:00+00:00"
    assert list(data) == ["format", "version", "exported_at", *SECTIONS]
    assert data["profile"]["address"] == "console:ann" and data["profile"]["tz"]
    assert "id" not in data["profile"] and "user_id" not in data["pain_scores"][0]
    assert data["conversation"]["state"]["profile"]["lang"] in ("de", "en")
    assert data["consents"][0]["given"] is True
    episode = data["episodes"][0]
    assert episode["status"] == "closed" and episode["outcome"] == "completed"
    assert episode["start_date"] == "2026-03-02"
    assert datetime.fromisoformat(episode["started_at"]).tzinfo is not None
    assert {"onset", "feel", "lift"} <= {a["question"] for a in data["triage_answers"]}
    assert [r["slug"] for r in data["article_reads"]] == [SORENESS, PREVENTION]
    assert data["digest_subscription"]["status"] == "active"
    assert all(m["payload"]["text"] for m in data["messages"] if m["kind"] == "message")
    for key in ("episodes", "triage_answers", "pain_scores", "article_reads", "messages"):
        assert len(data[key]) == len(export.rows()[key]), key


async def test_csv_rows_are_the_pain_scores(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    await full_week(database, shipped)
    export = await export_of(database, "console:ann")
    table = list(csv.reader(io.StringIO(export.pain_csv_bytes().decode("utf-8"))))
    assert tuple(table[0]) == CSV_COLUMNS
    async with database.session() as session:
        stored = (
            await session.execute(
                select(PainScore)
                .where(PainScore.user_id == export.profile.id)
                .order_by(PainScore.episode_seq, PainScore.day)
            )
        ).scalars()
        expected = [
            [str(p.episode_seq), str(p.day), str(p.score), p.trend or "", p.at.isoformat()]
            for p in stored
        ]
    assert table[1:] == expected
    assert [row[2] for row in table[1:]] == ["6", *(score for score, _ in ANN_WEEK)]
    assert table[1][3] == "" and table[2][3] == "better"  # the baseline has no trend


async def test_another_persons_data_never_appears(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    await full_week(database, shipped)
    ann = await export_of(database, "console:ann")
    bob = await export_of(database, "console:bob")
    assert b"console:bob" not in ann.json_bytes() and b"console:ann" not in bob.json_bytes()
    for export in (ann, bob):
        own_episodes = {episode.id for episode in export.episodes}
        for key, rows in export.rows().items():
            if key == "checkins":  # no user_id: they belong to the person's episodes
                assert rows and {row.episode_id for row in export.checkins} <= own_episodes
                assert {row.address for row in export.checkins} == {export.profile.address}
            elif key != "profile":
                assert {getattr(row, "user_id", None) for row in rows} <= {export.profile.id}
    assert len(bob.pain_scores) == 2 and bob.episodes[0].escalated
    assert "checkin_flag_day1" in {a.question for a in bob.triage_answers}


async def test_unknown_people_and_a_deleted_person(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    await full_week(database, shipped)
    async with database.session() as session:
        assert await find_user_id(session, "console:nobody") is None
        ann = await find_user_id(session, "console:ann")
        assert ann is not None
        await store.forget(session, ann)
    async with database.session() as session:
        assert await find_user_id(session, "console:ann") is None
        with pytest.raises(LookupError):
            await export_user(session, ann)
