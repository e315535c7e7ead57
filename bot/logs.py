"""Log setup for every command: plain text lines by default, one JSON object a line on request.

A record may carry the conversation it belongs to (``extra={"conversation": address}``);
both formats print that key. Nothing else from the record's extras is printed, so a
stray attribute can never leak what a person wrote.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Final

FORMATS: Final = ("text", "json")
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers kept at WARNING whatever the level: httpx logs request URLs, and those carry the
# bot token; the scheduler and Alembic are chatty about routine work.
QUIET_LOGGERS: Final = ("httpx", "apscheduler", "alembic")


# The conversation a coroutine works for (the service sets it per step, the sender per
# send): every record logged meanwhile carries it, without each call passing it.
CONVERSATION: ContextVar[str | None] = ContextVar("conversation", default=None)


class ConversationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "conversation", None) is None:
            key = CONVERSATION.get()
            if key is not None:
                record.conversation = key
        return True


class TextFormatter(logging.Formatter):
    """The classic line, with `` conversation=<key>`` appended when the record has one."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        conversation = getattr(record, "conversation", None)
        if conversation is None:
            return line
        first, newline, rest = line.partition("\n")  # keep a traceback below the key
        return f"{first} conversation={conversation}{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (+ conversation, exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        conversation = getattr(record, "conversation", None)
        if conversation is not None:
            entry["conversation"] = str(conversation)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    if fmt == "text":
        return TextFormatter()
    raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def configure(
    level: int | str, fmt: str = "text", *, stream: IO[str] | None = None, force: bool = False
) -> None:
    """Log to stderr (or ``stream``) at ``level`` in ``fmt``; quiet the noisy libraries.

    Like ``logging.basicConfig``, it leaves a root logger that already has handlers alone
    (a host application's, or pytest's) unless ``force`` is given.
    """
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(fmt))
    handler.addFilter(ConversationFilter())
    logging.basicConfig(level=level, handlers=[handler], force=force)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
