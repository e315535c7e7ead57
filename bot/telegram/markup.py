"""How a message looks on Telegram: HTML-escaped text in parts, buttons, button data."""

from __future__ import annotations

import html
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.transport import Outgoing
from dialogs import Choice, Text

MAX_TEXT = 4096  # Telegram's limit for one message, counted on the text we send
MAX_DATA = 64  # bytes of callback_data Telegram keeps
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_PREFIX = "c"  # an answer to the question of one turn
_COMMAND = "x"  # a command such as "/read <slug>": valid under any message, at any time


def to_html(text: str) -> str:
    """Escape everything; only ``**bold**`` from the content files becomes markup."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def split(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts whose HTML fits ``limit``, cut between paragraphs, else lines, else words."""
    if len(to_html(text)) <= limit:
        return [text]
    for separator in ("\n\n", "\n", " "):
        pieces = text.split(separator)
        if len(pieces) > 1:
            return _pack(pieces, separator, limit)
    middle = len(text) // 2  # one endless word: cut it anywhere
    return split(text[:middle], limit) + split(text[middle:], limit)


def _pack(pieces: list[str], separator: str, limit: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{separator}{piece}" if current else piece
        if len(to_html(candidate)) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        if len(to_html(piece)) <= limit:
            current = piece
        else:
            parts.extend(split(piece, limit))
            current = ""
    if current:
        parts.append(current)
    return parts


def callback_data(question: str, value: str) -> str:
    """``c|<turn>|<value>``; the turn id makes a button from an older question stale."""
    data = f"{_PREFIX}|{question}|{value}"
    if len(data.encode()) > MAX_DATA:
        raise ValueError(f"callback data over {MAX_DATA} bytes: {data!r}")
    return data


def command_data(command: str) -> str | None:
    """``x|/read <slug>``; None if it would not fit Telegram's 64 bytes."""
    data = f"{_COMMAND}|{command}"
    return data if len(data.encode()) <= MAX_DATA else None


def parse_callback(data: str | None) -> Choice | Text | None:
    """What a button carries: an answer (Choice), a command (as Text), or None for data
    we never sent (tampered or foreign)."""
    if not data or len(data.encode()) > MAX_DATA:
        return None
    prefix, _, rest = data.partition("|")
    if prefix == _COMMAND:
        return Text(rest) if rest.startswith("/") and len(rest) > 1 else None
    question, _, value = rest.partition("|")
    if prefix != _PREFIX or not question.isdigit() or not value:
        return None
    return Choice(question=question, value=value)


def keyboard(message: Outgoing) -> InlineKeyboardMarkup | None:
    """Inline buttons for a question: one compact keyboard for a 0–10 scale, else rows."""
    if message.question is None:
        return _command_keyboard(message)
    question = message.question
    if message.scale is not None:
        low, high = message.scale
        scale = [_button(str(n), question, str(n)) for n in range(low, high + 1)]
        middle = (len(scale) + 1) // 2
        rows = [scale[:middle], scale[middle:]]  # 0–5 and 6–10: fits a phone screen
    elif not message.options:
        return None
    else:
        buttons = [_button(o.label, question, o.value) for o in message.options]
        if all(len(o.label) <= 12 for o in message.options) and len(buttons) <= 4:
            rows = [buttons]  # short answers (yes/no, morning/noon/evening) side by side
        else:
            rows = [[button] for button in buttons]
    return InlineKeyboardMarkup([row for row in rows if row])


def _command_keyboard(message: Outgoing) -> InlineKeyboardMarkup | None:
    """Buttons that run commands (open an article, unsubscribe), one per row."""
    rows = [
        [InlineKeyboardButton(option.label, callback_data=data)]
        for option in message.options
        if option.value.startswith("/") and (data := command_data(option.value)) is not None
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def _button(label: str, question: str, value: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=callback_data(question, value))


def label_of(markup: InlineKeyboardMarkup | None, data: str) -> str | None:
    """The text of the button that carried ``data`` (to show what was chosen)."""
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
