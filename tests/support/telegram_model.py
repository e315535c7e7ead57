"""What the fake Bot API server records, and the Telegram objects it hands out.

Shapes follow https://core.telegram.org/bots/api. Only the fields a bot reads are filled in,
but every field that is filled in has Telegram's name and type, so PTB parses them as usual.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

# Form and multipart bodies carry every value as a string; these parameters hold JSON
# (numbers, booleans, objects) and are decoded. Everything else (text, caption, data, ...) stays
# a string, so a user who writes "123" is not turned into a number.
_JSON_PARAMS = frozenset(
    {
        "allowed_updates",
        "cache_time",
        "caption_entities",
        "chat_id",
        "commands",
        "disable_notification",
        "drop_pending_updates",
        "entities",
        "limit",
        "link_preview_options",
        "max_connections",
        "message_id",
        "message_thread_id",
        "offset",
        "protect_content",
        "reply_markup",
        "reply_parameters",
        "scope",
        "show_alert",
        "timeout",
    }
)


def decode_params(raw: Mapping[str, Any]) -> JsonDict:
    """Turn request parameters into the values a JSON body would have carried."""
    decoded: JsonDict = {}
    for name, value in raw.items():
        if name in _JSON_PARAMS and isinstance(value, str):
            # Not JSON, e.g. chat_id="@channel": Telegram takes it as the string it is.
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        decoded[name] = value
    return decoded


class ApiError(Exception):
    """An error answer: HTTP status, Telegram's description, optional retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    @classmethod
    def bad_request(cls, what: str) -> ApiError:
        return cls(400, f"Bad Request: {what}")

    @classmethod
    def flood(cls, retry_after: int) -> ApiError:
        return cls(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def body(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(frozen=True)
class TelegramUser:
    """A person who talks to the bot. Their private chat has the same id."""

    id: int
    first_name: str
    language_code: str = "en"

    def to_json(self) -> JsonDict:
        return {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }

    def chat_json(self) -> JsonDict:
        return {"id": self.id, "type": "private", "first_name": self.first_name}


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str  # the part name, e.g. "document" or "photo"
    filename: str | None
    size: int
    content_type: str | None


@dataclass(frozen=True)
class Call:
    """One request the server answered (appended when the answer goes out)."""

    method: str  # canonical spelling, e.g. "sendMessage"
    params: JsonDict  # decoded parameters, files excluded
    files: tuple[UploadedFile, ...]
    status: int  # the HTTP status answered
    description: str | None  # Telegram's error description, None on success
    result: Any  # the "result" of a successful answer
    received_at: float  # the server's (injectable) monotonic clock
    answered_at: float

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        return self.params.get("text")

    @property
    def reply_markup(self) -> JsonDict | None:
        return self.params.get("reply_markup")

    @property
    def button_data(self) -> list[str]:
        """The callback_data of every inline button sent with this call, row by row."""
        return inline_callback_data(self.reply_markup)


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the bot's webhook, and what came back."""

    update_id: int
    url: str
    status: int | None  # None when no HTTP answer came (connection refused, timeout)
    error: str | None
    at: float


@dataclass
class BotMessage:
    """A message the bot sent, kept so edits and button presses can refer to it."""

    chat_id: int
    message_id: int
    date: int
    source_text: str | None  # as the bot sent it, markup included
    parse_mode: str | None
    text: str | None  # as the user sees it (HTML tags removed)
    reply_markup: JsonDict | None
    media: JsonDict = field(default_factory=dict)  # e.g. {"document": {...}, "caption": "..."}
    edit_date: int | None = None

    def to_json(self, sender: JsonDict, chat: JsonDict) -> JsonDict:
        message: JsonDict = {
            "message_id": self.message_id,
            "from": sender,
            "chat": chat,
            "date": self.date,
            **self.media,
        }
        if self.text is not None:
            message["text"] = self.text
        if self.reply_markup is not None:
            message["reply_markup"] = self.reply_markup
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        return message


def inline_callback_data(markup: JsonDict | None) -> list[str]:
    rows = (markup or {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]
