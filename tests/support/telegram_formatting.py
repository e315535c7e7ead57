"""How Telegram checks what a bot formats: parse_mode text and inline keyboards.

A coach edits texts in YAML; a stray "<" in an HTML text or an unescaped "." in MarkdownV2 is
a 400 from Telegram, so the fake server answers it too (descriptions as Telegram words them).
Only the common mistakes are detected, not every rule of Telegram's parsers.
"""

from __future__ import annotations

import html
import re
from typing import Any

from tests.support.telegram_model import ApiError

_HTML_TAGS = frozenset(
    {"a", "b", "blockquote", "code", "del", "em", "i", "ins", "pre", "s", "span", "strike"}
    | {"strong", "tg-emoji", "tg-spoiler", "u"}
)
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^<>]*>")
# In MarkdownV2 these are never markup outside links and code, so Telegram insists on "\".
_MDV2_CODE_OR_LINK = re.compile(r"`[^`]*`|\]\([^)]*\)|\\.")
_MDV2_RESERVED = re.compile(r"[.!#+\-={}]")


def rendered_text(text: str, parse_mode: str | None) -> str:
    """The text the user sees, or the 400 Telegram gives for markup it cannot parse."""
    if len(text) > 4096:
        raise ApiError.bad_request("message is too long")
    if parse_mode == "HTML":
        return _render_html(text)
    if parse_mode == "MarkdownV2":
        unescaped = _MDV2_RESERVED.search(_MDV2_CODE_OR_LINK.sub("", text))
        if unescaped:
            raise ApiError.bad_request(
                f"can't parse entities: Character '{unescaped.group()}' is reserved and must be "
                "escaped with the preceding '\\'"
            )
    return text


def _render_html(text: str) -> str:
    open_tags: list[str] = []
    for match in _HTML_TAG.finditer(text):
        closing, name = match.group(1), match.group(2).lower()
        offset = len(text[: match.start()].encode())
        if name not in _HTML_TAGS:
            raise ApiError.bad_request(
                f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {offset}'
            )
        if not closing:
            open_tags.append(name)
        elif not open_tags or open_tags.pop() != name:
            raise ApiError.bad_request(
                f"can't parse entities: Unexpected end tag at byte offset {offset}"
            )
    if open_tags:
        raise ApiError.bad_request(
            "can't parse entities: Can't find end tag corresponding to start tag "
            f'"{open_tags[-1]}"'
        )
    plain = _HTML_TAG.sub("", text)
    if "<" in plain:  # e.g. "pain < 3" sent as HTML without escaping
        offset = len(plain[: plain.index("<")].encode())
        raise ApiError.bad_request(
            f"can't parse entities: Unexpected end of name token at byte offset {offset}"
        )
    return html.unescape(plain)


def check_reply_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise ApiError.bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return  # reply keyboards, ReplyKeyboardRemove, ForceReply: accepted as they are
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError.bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    for button in (button for row in rows for button in row):
        if not button.get("text"):
            raise ApiError.bad_request("can't parse inline keyboard button: Text is empty")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(data.encode()) <= 64:
            raise ApiError.bad_request("BUTTON_DATA_INVALID")
        if data is None and len(button) == 1:
            raise ApiError.bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline "
                "keyboard"
            )
