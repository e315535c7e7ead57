"""What the sender needs from a platform: send one message, say how it went."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from dialogs.actions import Option


@dataclass(frozen=True)
class Attachment:
    """A file to send with the message's text as its caption."""

    filename: str
    mime: str
    data: bytes = field(repr=False)

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")


@dataclass(frozen=True)
class Outgoing:
    """A rendered message as stored in the outbox."""

    text: str
    question: str | None = None
    options: tuple[Option, ...] = ()
    scale: tuple[int, int] | None = None
    # The outbox key: stable across retries, so a platform with idempotent sends
    # (Matrix transaction ids) can make a retried send post once.
    key: str = ""
    # Parts of a long message already delivered by an earlier try (not to be sent again).
    parts_sent: int = 0
    attachment: Attachment | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any], key: str = "") -> Outgoing:
        scale = payload.get("scale")
        attached = payload.get("attachment")
        return cls(
            attachment=(
                Attachment(
                    str(attached["filename"]),
                    str(attached["mime"]),
                    base64.b64decode(attached["data"]),
                )
                if attached
                else None
            ),
            key=key,
            parts_sent=int(payload.get("parts_sent", 0)),
            text=str(payload["text"]),
            question=payload.get("question"),
            options=tuple(Option(str(v), str(label)) for v, label in payload.get("options", [])),
            scale=(int(scale[0]), int(scale[1])) if scale else None,
        )


class Delivery(Enum):
    SENT = "sent"
    THROTTLED = "throttled"  # the platform's rate limit: wait retry_after, never counts as a try
    RETRY = "retry"  # not delivered, safe to try again later (rate limit, network before send)
    UNREACHABLE = "unreachable"  # blocked, deactivated, no such chat: stop writing to them
    UNKNOWN = "unknown"  # may or may not have arrived (timeout after sending): never resend
    FAILED = "failed"  # refused for good (e.g. malformed): give up on this message


@dataclass(frozen=True)
class SendResult:
    delivery: Delivery
    retry_after: float = 0.0
    detail: str = ""
    parts_sent: int = 0  # of a message the platform takes in several parts, before it failed


class Transport(Protocol):
    """A platform the sender delivers to; ``prefix`` is the address scheme, e.g. "telegram"."""

    prefix: str

    async def send(self, address: str, message: Outgoing) -> SendResult: ...
