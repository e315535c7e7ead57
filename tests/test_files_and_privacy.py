"""/export, /progress, the summary file and /privacy, through the real service and database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.clock import SimClock
from bot.console import ConsoleTransport
from bot.db.database import Database
from bot.db.models import ConsentRecord, EpisodeRow, OutboxRow
from bot.sender import Sender
from bot.service import Service
from bot.transport import Delivery, Outgoing, SendResult
from dialogs import Choice, Node, Text
from dialogs.actions import RecordConsent, SendFile
from scheduler import checkins
from tests.support.dialog import DialogDriver
from tests.test_dialog_flow import checkin, enrol

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
TRIAGE = ["agree", *["no"] * 12, "later", "dull", "row", "yes", "6", "morning"]


def test_export_and_progress_are_requested_from_the_dialog(dialog: DialogDriver) -> None:
    dialog.command("progress")
    assert not any(isinstance(a, SendFile) for a in dialog.actions)  # no scores yet
    dialog.command("export")
    assert SendFile("export") in dialog.actions
    enrol(dialog)
    dialog.command("progress")
    assert SendFile("progress") in dialog.actions


def test_withdrawing_consent_stops_the_plan_and_offers_deletion(dialog: DialogDriver) -> None:
    enrol(dialog)
    checkin(dialog, 5, "better")
    dialog.command("privacy")
    dialog.pick("withdraw")
    assert RecordConsent(1, False) in dialog.actions
    assert dialog.state is not None and not dialog.state.has_consent
    assert dialog.state.active_episode is None and dialog.state.node is Node.CONFIRM_DELETE
    dialog.pick("no")
    assert dialog.state.episode is not None and dialog.state.episode.outcome == "stopped"


class Console:
    """The real console transport, writing files under ``tmp``; remembers the last options."""

    def __init__(self, tmp: Path) -> None:
        self.lines: list[str] = []
        self.transport = ConsoleTransport(out=self, files_dir=tmp / "files")  # type: ignore[arg-type]

    def write(self, text: str) -> None:
        self.lines.append(text)

    def flush(self) -> None:
        pass


async def test_export_progress_and_summary_files_on_the_console(
    database: Database,
    shipped,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    clock = SimClock(START)
    console = Console(tmp_path)
    sender = Sender(database, {"console": console.transport}, clock)
    service = Service(database, shipped[0], shipped[1], clock, on_outbox=sender.notify)
    address = "console:kim"

    async def say(text: str) -> None:
        await service.handle(address, console.transport.to_event(address, text))
        await sender.flush()

    await say("my back hurts")
    for answer in TRIAGE:
        values = [o.value for o in console.transport.last_options[address].options]
        await say(str(values.index(answer) + 1) if answer in values else answer)
    clock.advance(timedelta(days=1))
    await checkins.tick(database, service, clock.now())
    await sender.flush()
    for answer in ("4", "better", "no"):
        await say(answer)
    await say("/export")
    await say("/progress")
    await say("/summary")
    saved = sorted(p.name for p in (tmp_path / "files").iterdir())
    assert [name.split("-")[1] for name in saved] == ["backcoach", "backcoach", "pain", "summary"]
    exported = json.loads(next((tmp_path / "files").glob("kim-backcoach-2*.json")).read_bytes())
    assert [s["score"] for s in exported["pain_scores"]] == [6, 4]
    assert next((tmp_path / "files").glob("*.png")).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert next((tmp_path / "files").glob("*.pdf")).read_bytes()[:5] == b"%PDF-"
    assert any("[file]" in line for line in console.lines)


async def test_a_withdrawal_is_recorded_and_nothing_new_is_stored(
    database: Database,
    shipped,  # type: ignore[no-untyped-def]
) -> None:
    clock = SimClock(START)
    service = Service(database, shipped[0], shipped[1], clock)
    address = "console:lee"
    await service.handle(address, Text("my back hurts"))
    state = await service.state_of(address)
    assert state is not None
    await service.handle(address, Choice(str(state.turn), "agree"))
    await service.handle(address, Text("/privacy"))
    state = await service.state_of(address)
    assert state is not None
    await service.handle(address, Choice(str(state.turn), "withdraw"))
    await service.handle(address, Text("no"))  # keep what is stored
    async with database.session() as session:
        consents = (await session.execute(select(ConsentRecord.given))).scalars().all()
        episodes = (await session.execute(select(EpisodeRow.status))).scalars().all()
    assert consents == [True, False]
    assert episodes == ["closed"]  # the triage under way was stopped
    state = await service.state_of(address)
    assert state is not None and state.node is Node.IDLE and not state.has_consent


async def test_stats_answer_admins_only(database: Database, shipped) -> None:  # type: ignore[no-untyped-def]
    from bot.service import Defaults

    clock = SimClock(START)
    defaults = Defaults(lang="en", admins=frozenset({"console:boss"}))
    service = Service(database, shipped[0], shipped[1], clock, defaults)
    await service.handle("console:someone", Text("my back hurts"))
    boss = await service.handle("console:boss", Text("/stats"))
    other = await service.handle("console:someone", Text("/stats"))
    assert boss is not None and "users" in boss.messages[0].text.lower()
    assert other is not None and "/help" in other.messages[0].text  # the normal help


class RefusesFiles:
    """A platform at the edge that takes text but refuses every file for good."""

    prefix = "console"

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def send(self, address: str, message: Outgoing) -> SendResult:
        if message.attachment is not None:
            return SendResult(Delivery.FAILED, detail="413 file too large", parts_sent=0)
        self.texts.append(message.text)
        return SendResult(Delivery.SENT)


async def test_a_refused_file_is_explained_once_in_the_persons_language(
    database: Database,
    shipped,  # type: ignore[no-untyped-def]
) -> None:
    clock = SimClock(START)
    platform = RefusesFiles()
    sender = Sender(database, {"console": platform}, clock)
    service = Service(database, shipped[0], shipped[1], clock, on_outbox=sender.notify)
    await service.handle("console:ute", Text("mein Rücken tut weh"))
    await service.handle("console:ute", Text("/export"))
    for _ in range(3):  # more passes find nothing more to say
        await sender.flush()

    refused = [t for t in platform.texts if t.startswith("Die Datei")]
    assert len(refused) == 2  # the JSON and the CSV, one line each
    assert any(".json konnte ich dir hier nicht schicken" in t for t in refused)
    async with database.session() as session:
        statuses = (await session.scalars(select(OutboxRow.status))).all()
    assert statuses.count("failed") == 2 and set(statuses) == {"sent", "failed"}
