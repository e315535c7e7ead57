"""Logs at INFO never carry what a person wrote, what the coach told them, or the token.

A full episode (consent, checklist, enrolment, a week of check-ins with an escalation
and the summary, then /delete) runs through the real Service, Sender, scheduler tick
and database while every logger is captured at INFO.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.cli import _logging
from bot.config import load_config
from bot.db.database import Database
from dialogs import Node
from tests.test_stats import NO_FLAGS, Clinic

TOKEN = "7012345678:AAFakeTokenQuokka-mArmalade_93xyz"
OPENING = "my back hurts since the Quokkafest deadlift session"
STRAY = ["it feels like a wobbegong bit me", "zebra-marmalade-42", "Vorsicht Schildkröte"]
SCORES = [7, 6, 6, 6, 6, 6, 5]  # no real fall from the baseline: escalates on day 4


@pytest.fixture
def logging_as_configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The production logging setup, undone afterwards (it changes global logger levels)."""
    names = ("httpx", "apscheduler")
    levels = {name: logging.getLogger(name).level for name in names}
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    _logging(load_config(), quiet=False)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def test_a_full_episode_logs_no_answers_texts_or_token(
    database: Database,
    shipped,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
    logging_as_configured: None,
) -> None:
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    caplog.set_level(logging.INFO)  # the root: every logger that propagates
    config = load_config()
    assert config.telegram_token == TOKEN
    logging.getLogger("backcoach").info("configuration: %r", config)
    # What httpx would log for a Bot API call: the URL carries the token.
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/x", TOKEN)

    clinic = Clinic(database, shipped)
    summaries = 0
    await clinic.says("pat", OPENING, STRAY[0], "agree", *NO_FLAGS, "later", STRAY[1])
    await clinic.says("pat", "dull", "deadlift", "yes", str(SCORES[0] + 1), "morning")
    for day, score in enumerate(SCORES, start=1):
        await clinic.checkin_day(day)
        await clinic.says("pat", STRAY[2] if day == 2 else str(score))
        if day == 2:
            await clinic.says("pat", str(score))
        await clinic.says("pat", "same", "no")
        state = await clinic.service.state_of("console:pat")
        if state is not None and state.node is Node.OFFER_SUMMARY:
            await clinic.says("pat", "yes")
            summaries += 1
    await clinic.says("pat", "/summary", "/delete", "yes")

    sent = [m.text for m in clinic.inbox.sent["console:pat"]]
    assert summaries == 1 and len(sent) > 40  # the week ran, escalated, sent the summary
    names = {r.name for r in caplog.records}
    assert {"scheduler.checkins", "bot.service"} <= names  # and the stack did log

    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in logged and "AAFakeToken" not in logged
    for typed in (OPENING, *STRAY, "Quokkafest", "wobbegong", "marmalade", "Schildkröte"):
        assert typed.lower() not in logged.lower(), typed
    for text in sent:
        for line in text.splitlines():
            if len(line.strip()) >= 12:  # shorter lines ("Day 3", "–") say nothing
                assert line.strip() not in logged, line
