"""What in a room's timeline is a message for the coach, and what it says.

Pure functions over nio's parsed events, so the rules are easy to read in one place:
only events after the bot's own join, never its own, text messages (not edits) and
number reactions (1️⃣ … 🔟, also 0️⃣ for a pain score of 0).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from nio import Event, MegolmEvent, ReactionEvent, RoomMemberEvent, RoomMessageText

KEYCAP = "\u20e3"
TEN = "\U0001f51f"  # 🔟
# A reply's body starts with "> <@someone> quoted text" lines and a blank line; drop them.
REPLY_FALLBACK = re.compile(r"\A(?:>[^\n]*\n)+\n?")


@dataclass(frozen=True)
class Incoming:
    event_id: str
    sender: str
    text: str


def messages(events: Sequence[Event], own_user_id: str) -> list[Incoming]:
    """The messages for the coach in one room's timeline slice, oldest first."""
    found = []
    for event in events[_after_own_join(events, own_user_id) :]:
        if event.sender == own_user_id:
            continue  # our own replies come back in every sync
        text = _text_of(event)
        if text is not None:
            found.append(Incoming(event.event_id, event.sender, text))
    return found


def undecryptable(events: Sequence[Event]) -> list[MegolmEvent]:
    """Encrypted events nio could not decrypt (their room key has not arrived)."""
    return [event for event in events if isinstance(event, MegolmEvent)]


def reaction_number(key: str) -> int | None:
    """1️⃣ → 1 … 🔟 → 10; also the keycap without its variation selector."""
    key = key.replace("\ufe0f", "").strip()
    if key == TEN:
        return 10
    if len(key) == 2 and key[1] == KEYCAP and key[0].isdigit():
        return int(key[0])
    return None


def joined_in(events: Sequence[Event], own_user_id: str) -> bool:
    """Does this slice hold the bot's join (the room is new to it)?"""
    return _after_own_join(events, own_user_id) > 0


def _after_own_join(events: Sequence[Event], own_user_id: str) -> int:
    """Index after the bot's join in this slice (0 if the join was in an earlier sync).

    A room the bot just joined arrives with recent history from before the join; that
    was not written to the coach, so it is not answered.
    """
    start = 0
    for index, event in enumerate(events):
        if (
            isinstance(event, RoomMemberEvent)
            and event.state_key == own_user_id
            and event.membership == "join"
            and event.prev_membership != "join"  # not a mere display-name change
        ):
            start = index + 1
    return start


def _text_of(event: Event) -> str | None:
    if isinstance(event, RoomMessageText):
        content = event.source.get("content", {})
        if "m.new_content" in content:
            return None  # an edit of an earlier message: that one was answered already
        return REPLY_FALLBACK.sub("", event.body).strip() or None
    if isinstance(event, ReactionEvent):
        number = reaction_number(event.key)
        return None if number is None else str(number)
    return None
