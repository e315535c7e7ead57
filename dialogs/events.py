"""What can happen to a conversation: the inputs of ``dialogs.step``.

Transports turn platform updates into these; the scheduler produces ``CheckinDue``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Text:
    """Free text the person wrote."""

    text: str


@dataclass(frozen=True)
class Choice:
    """A pressed button or a picked option: ``question`` is the turn id it was offered under."""

    question: str
    value: str


@dataclass(frozen=True)
class Command:
    """A command such as /help, without the slash; ``arg`` is what followed it."""

    name: str
    arg: str = ""


@dataclass(frozen=True)
class CheckinDue:
    """The scheduler says: check-in ``day`` of episode ``episode`` was due at ``due_at`` (UTC)."""

    episode: int
    day: int
    due_at: datetime


Event = Text | Choice | Command | CheckinDue


def parse_command(text: str) -> Command | None:
    """``/plan``, ``!plan`` or ``/plan@SomeBot arg`` as a Command; anything else None."""
    stripped = text.strip()
    if len(stripped) < 2 or stripped[0] not in "/!" or not stripped[1].isalpha():
        return None
    head, _, arg = stripped[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name.isascii() or not name.replace("_", "").isalnum():
        return None
    return Command(name=name, arg=arg.strip())
