"""Reading an answer to the pending question from a button press or typed text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialogs.context import Context
from dialogs.events import Choice, Text
from dialogs.states import HOUR_OPTIONS, QUESTIONS, YES_NO, Node, State

HOURS = dict(zip(HOUR_OPTIONS, (8, 12, 18), strict=True))
_INT = re.compile(r"(?<![\d.,])(\d{1,2})(?![\d.,]\d)")
_CLOCK = re.compile(r"^\s*(\d{1,2})(?:[:.h]\s*(\d{2}))?\s*(am|pm|uhr|h)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Expired:
    """A button pressed under an older question."""


EXPIRED = Expired()
Answer = str | int


def read_answer(state: State, event: Text | Choice, ctx: Context) -> Answer | Expired | None:
    """The answer to ``state``'s question, EXPIRED for a stale button, None if unclear."""
    spec = QUESTIONS.get(state.node)
    if isinstance(event, Choice):
        if spec is None or event.question != str(state.turn):
            return EXPIRED
        return _read_value(state.node, event.value)
    if spec is None:
        return None
    raw = event.text.strip()[:200]
    if spec.kind == "text":
        return raw or None
    if spec.kind == "scale":
        return _read_scale(raw)
    if spec.kind == "hour":
        if raw.isdigit() and 1 <= int(raw) <= len(spec.options):
            # The option's number in a numbered list (Matrix, console); a check-in at
            # 1, 2 or 3 at night is written "1:00".
            return _read_value(state.node, spec.options[int(raw) - 1])
        hour = _read_hour(raw)
        if hour is not None:
            return hour
    if spec.options == YES_NO:
        yes = ctx.intents.yes_no(raw)
        if yes is not None:
            return "yes" if yes else "no"
    return _read_option(state, raw, ctx)


def _read_value(node: Node, value: str) -> Answer | None:
    spec = QUESTIONS[node]
    if value in spec.options:
        return HOURS[value] if spec.kind == "hour" else value
    if spec.kind in ("scale", "hour") and value.isdigit():
        return _read_scale(value) if spec.kind == "scale" else _read_hour(value)
    return None


def _read_option(state: State, raw: str, ctx: Context) -> Answer | None:
    """An option by its number in the list (as on Matrix) or by its label."""
    spec = QUESTIONS[state.node]
    if raw.isdigit() and 1 <= int(raw) <= len(spec.options):
        return _read_value(state.node, spec.options[int(raw) - 1])
    wanted = _plain(raw)
    if not wanted:
        return None
    labels = ctx.content.questions[state.node].options
    for value in spec.options:
        label = labels[value]
        if wanted in (_plain(label.de), _plain(label.en), value):
            return _read_value(state.node, value)
    return None


def _read_scale(raw: str) -> int | None:
    found = _INT.findall(raw)
    if len(found) != 1 and not (len(found) == 2 and raw.replace(" ", "").endswith("/10")):
        return None
    score = int(found[0])
    return score if 0 <= score <= 10 else None


def _read_hour(raw: str) -> int | None:
    match = _CLOCK.match(raw)
    if match is None:
        return None
    hour, minutes, suffix = int(match[1]), match[2], (match[3] or "").lower()
    if minutes not in (None, "00"):
        return None
    if suffix == "pm" and hour < 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    return hour if 0 <= hour <= 23 else None


def _plain(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text.lower()).strip()
