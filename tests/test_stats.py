"""Operator stats for a scripted set of people, on SQLite and PostgreSQL.

``Clinic`` drives several people through the real Service, Sender and scheduler tick on
a simulated clock; the retention and log-privacy tests use it too.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import SimClock
from bot.db.database import Database
from bot.sender import Sender
from bot.service import Service
from bot.stats import DayPain, collect, stats_table
from bot.transport import Delivery, Outgoing, SendResult
from content.loader import Content
from dialogs import Choice, Text
from dialogs.intents import Matcher
from scheduler import checkins

START = datetime(2026, 3, 2, 9, tzinfo=UTC)  # 10:00 in Berlin; "morning" check-ins at 08:00
NO_FLAGS = ["no"] * 12


def enrol_with_warning_sign(baseline: int) -> list[str]:
    """A plan after 'pain already during training' (a 'stop' sign), without exercises."""
    return ["my back hurts", "agree", *NO_FLAGS[:7], "yes", "yes", str(baseline), "morning"]


def enrol(onset: str, baseline: int) -> list[str]:
    return [
        "my back hurts",
        "agree",
        *NO_FLAGS,
        onset,
        "dull",
        "row",
        "yes",
        str(baseline),
        "morning",
    ]


class Inbox:
    """The platform edge: records what each address was sent."""

    prefix = "console"

    def __init__(self) -> None:
        self.sent: dict[str, list[Outgoing]] = defaultdict(list)

    async def send(self, address: str, message: Outgoing) -> SendResult:
        self.sent[address].append(message)
        return SendResult(Delivery.SENT)


class Clinic:
    """Several people talking to the real stack; time moves only when told."""

    def __init__(
        self, database: Database, shipped: tuple[Content, Matcher], start: datetime = START
    ) -> None:
        self.db, self.clock, self.inbox = database, SimClock(start), Inbox()
        self.sender = Sender(database, {"console": self.inbox}, self.clock)
        self.service = Service(
            database, shipped[0], shipped[1], self.clock, on_outbox=self.sender.notify
        )

    async def says(self, who: str, *answers: str) -> None:
        """An answer is an option value when the last question offers it, else typed text."""
        address = f"console:{who}"
        for answer in answers:
            last = next((m for m in reversed(self.inbox.sent[address]) if m.options), None)
            values = {o.value for o in last.options} if last else set()
            event: Choice | Text = Text(answer)
            if last is not None and last.question and answer in values:
                event = Choice(last.question, answer)
            await self.service.handle(address, event)
            await self.sender.flush()

    async def at(self, moment: datetime) -> None:
        """Move the clock and run the scheduler tick, as the running bot would."""
        self.clock.set(moment)
        await checkins.tick(self.db, self.service, moment)
        await self.sender.flush()

    async def checkin_day(self, day: int) -> None:
        """Half an hour after the morning check-in of plan day ``day`` (enrolled on START)."""
        await self.at(datetime(2026, 3, 2 + day, 7, 30, tzinfo=UTC))


async def scripted(database: Database, shipped: tuple[Content, Matcher]) -> Clinic:
    """Five people, three days of check-ins:

    alice  soreness, answers days 1-2, misses day 3
    bob    injury (pain during training: a 'stop' red flag), a new symptom on day 1
           escalates the plan; misses days 2-3
    carol  an emergency sign at the first checklist question
    dave   declines consent: a user, nothing else
    eve    soreness, pain 1 on days 1 and 2: recovered
    """
    clinic = Clinic(database, shipped)
    await clinic.says("alice", *enrol("later", 6))
    await clinic.says("bob", *enrol_with_warning_sign(8))
    await clinic.says("carol", "my back hurts", "agree", "yes")
    await clinic.says("dave", "my back hurts", "decline")
    await clinic.says("eve", *enrol("later", 2))
    await clinic.checkin_day(1)
    await clinic.says("alice", "5", "better", "no")
    await clinic.says("bob", "8", "same", "yes", "no", "no")
    await clinic.says("eve", "1", "better", "no")
    await clinic.checkin_day(2)
    await clinic.says("alice", "3", "better", "no")
    await clinic.says("eve", "1", "same", "no")
    await clinic.checkin_day(3)
    return clinic


async def test_stats_of_a_scripted_week(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    clinic = await scripted(database, shipped)
    stats = await collect(database, clinic.clock.now())
    assert stats.users == 5
    assert (stats.episodes, stats.active_episodes, stats.paused_episodes) == (4, 2, 0)
    assert stats.outcomes == {
        "soreness": 2,
        "injury": 1,
        "red_flag": 2,
        "escalated": 1,
        "recovered": 1,
    }
    assert stats.red_flags_by_tier == {"emergency": 1, "stop": 1}
    assert stats.closed_by_outcome == {"emergency": 1, "recovered": 1}
    # Sent: alice 1-3, bob 1-3, eve 1-2; answered: alice 1-2, bob 1, eve 1-2.
    assert (stats.checkins_sent, stats.checkins_answered) == (8, 5)
    assert stats.response_rate == 0.625
    assert stats.mean_pain_by_day == [
        DayPain(0, round((6 + 8 + 2) / 3, 2), 3),
        DayPain(1, round((5 + 8 + 1) / 3, 2), 3),
        DayPain(2, 2.0, 2),
    ]
    assert stats.escalations_this_week == 1
    # Bob escalated on day 1 (its time is recorded): eight days on it is last week's,
    # although his plan is still running.
    eight_days_on = await collect(database, clinic.clock.now() + timedelta(days=6))
    assert eight_days_on.escalations_this_week == 0
    # Three weeks on, bob's escalation (day 1) is long past, though his plan never closed.
    later = await collect(database, clinic.clock.now() + timedelta(days=21))
    assert later.escalations_this_week == 0
    assert later.outcomes == stats.outcomes


async def test_table_and_json_show_the_same_numbers(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    clinic = await scripted(database, shipped)
    stats = await collect(database, clinic.clock.now())
    table = stats_table(stats)
    assert "response rate" in table and "62%" in table
    assert "day 1:  4.7  (n=3)" in table
    data = json.loads(json.dumps(stats.as_json()))
    assert data["outcomes"]["recovered"] == 1 and data["checkins_sent"] == 8
    assert (data["digest_subscribers"], data["digest_reads"]) == (0, 0)  # none in the script
    assert "reads from the digest" in table


async def test_an_empty_database_has_no_rate() -> None:
    db = Database("sqlite+aiosqlite:///:memory:")
    await db.upgrade()
    stats = await collect(db, START)
    await db.dispose()
    assert stats.users == 0 and stats.response_rate is None and stats.mean_pain_by_day == []
    assert "no scores yet" in stats_table(stats)


def test_cli_stats_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BACKCOACH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("BACKCOACH_DATABASE_URL", raising=False)
    assert main(["stats"]) == 2  # no schema yet
    assert "db upgrade" in capsys.readouterr().err
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/backcoach.sqlite3")

    async def upgrade() -> None:
        await db.upgrade()
        await db.dispose()

    asyncio.run(upgrade())
    assert main(["stats", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["users"] == 0 and data["response_rate"] is None
