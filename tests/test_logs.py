"""Logs: plain text by default, one JSON object a line with BACKCOACH_LOG_FORMAT=json."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest

from bot import cli
from bot.config import ConfigError, load_config
from bot.logs import QUIET_LOGGERS, configure


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure() changes the root logger and library levels; put them back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def lines_logged(fmt: str) -> list[str]:
    stream = io.StringIO()
    configure(logging.INFO, fmt, stream=stream, force=True)
    log = logging.getLogger("backcoach.test")
    log.info("tick ran %d check-ins", 3)
    log.info("reply queued", extra={"conversation": "telegram:4711"})
    log.debug("not at INFO")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("sender failed", extra={"conversation": "matrix:@pat:example.org"})
    return stream.getvalue().splitlines()


def test_the_setting_defaults_to_text_and_accepts_json() -> None:
    assert load_config({}).log_format == "text"
    assert load_config({"BACKCOACH_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigError, match="BACKCOACH_LOG_FORMAT must be text or json"):
        load_config({"BACKCOACH_LOG_FORMAT": "xml"})


def test_json_is_one_object_per_line_with_the_conversation_key(restored_logging: None) -> None:
    lines = lines_logged("json")
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(entries) == len(lines) == 3  # the traceback stays inside its object
    first, second, third = entries
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["level"] == "INFO"
    assert first["logger"] == "backcoach.test"
    assert first["message"] == "tick ran 3 check-ins"
    assert datetime.fromisoformat(first["time"]).utcoffset() is not None
    assert second["conversation"] == "telegram:4711"
    assert third["level"] == "ERROR"
    assert third["conversation"] == "matrix:@pat:example.org"
    assert "RuntimeError: boom" in third["exception"]


def test_text_lines_carry_the_conversation_key_too(restored_logging: None) -> None:
    lines = lines_logged("text")
    assert lines[0].endswith("INFO backcoach.test: tick ran 3 check-ins")
    assert lines[1].endswith("INFO backcoach.test: reply queued conversation=telegram:4711")
    assert lines[2].endswith("sender failed conversation=matrix:@pat:example.org")
    assert lines[-1] == "RuntimeError: boom"


def test_other_extras_never_reach_the_line(restored_logging: None) -> None:
    for fmt in ("text", "json"):
        stream = io.StringIO()
        configure(logging.INFO, fmt, stream=stream, force=True)
        logging.getLogger("backcoach.test").info("answer saved", extra={"text": "my back hurts"})
        assert "my back hurts" not in stream.getvalue()


def test_noisy_libraries_stay_at_warning(restored_logging: None) -> None:
    configure(logging.DEBUG, "json", stream=io.StringIO(), force=True)
    for name in ("httpx", "apscheduler", "alembic"):
        assert logging.getLogger(name).level == logging.WARNING


def test_the_command_line_logs_json_when_configured(
    restored_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cli._logging reads level and format from the configuration; chat and demo stay quiet."""
    stream = io.StringIO()
    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)  # as in a fresh process: nothing configured yet
    monkeypatch.setattr("sys.stderr", stream)
    cli._logging(load_config({"BACKCOACH_LOG_FORMAT": "json"}), quiet=False)
    assert root.level == logging.INFO
    logging.getLogger("backcoach").info("backcoach is running")
    assert json.loads(stream.getvalue())["message"] == "backcoach is running"
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    cli._logging(load_config({}), quiet=True)
    assert root.level == logging.WARNING


async def test_a_step_names_its_conversation_on_every_line(
    restored_logging: None,
    shipped,  # type: ignore[no-untyped-def]
) -> None:
    """The service sets the key for the step; a line logged inside it carries it."""
    from datetime import UTC

    from bot.clock import SimClock
    from bot.db.database import Database
    from bot.service import Service
    from dialogs import Text

    stream = io.StringIO()
    configure(logging.INFO, "json", stream=stream, force=True)
    db = Database("sqlite+aiosqlite:///:memory:")
    await db.upgrade()
    service = Service(db, shipped[0], shipped[1], SimClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    await service.handle("telegram:4242", Text("/delete"))
    state = await service.state_of("telegram:4242")
    assert state is not None
    from dialogs import Choice

    await service.handle("telegram:4242", Choice(str(state.turn), "yes"))  # logs the erasure
    await db.dispose()
    entries = [json.loads(line) for line in stream.getvalue().splitlines() if line]
    erased = [e for e in entries if "erased" in e["message"]]
    assert erased and all(e["conversation"] == "telegram:4242" for e in erased)
