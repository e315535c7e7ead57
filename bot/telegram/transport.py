"""Sending outbox messages to Telegram, and reading Telegram's answer as a Delivery.

Telegram has no idempotency key: a request that may have reached it is never sent
again by us (UNKNOWN); only a request that provably did not leave is retried.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import replace
from datetime import timedelta

import httpx
from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.ratelimit import RateLimit
from bot.telegram.markup import keyboard, split, to_html
from bot.transport import Delivery, Outgoing, SendResult

log = logging.getLogger(__name__)
PREFIX = "telegram"
CAPTION_MAX = 1024
# Failures that happen before a request is on the wire: safe to try again.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# 403/400 descriptions that mean this chat will not take messages again.
GONE = ("blocked", "deactivated", "kicked", "chat not found", "user not found", "initiate")


def address_of(chat_id: int) -> str:
    return f"{PREFIX}:{chat_id}"


def chat_of(address: str) -> int | None:
    prefix, _, chat = address.partition(":")
    if prefix != PREFIX:
        return None
    try:
        return int(chat)
    except ValueError:
        return None


class TelegramTransport:
    prefix = PREFIX

    def __init__(self, bot: Bot, limit: RateLimit | None = None) -> None:
        """``limit``: the sender's limits, which the second and later parts must obey too."""
        self.bot, self.limit = bot, limit

    async def send(self, address: str, message: Outgoing) -> SendResult:
        chat_id = chat_of(address)
        if chat_id is None:
            return SendResult(Delivery.FAILED, detail="not a Telegram address")
        if message.attachment is not None:
            return await self._send_file(chat_id, message)
        parts = split(message.text)
        done = 0
        try:
            for index, part in enumerate(parts):
                if index < message.parts_sent:
                    continue  # arrived on an earlier try
                if done and self.limit is not None:
                    await self.limit.acquire(address)  # the sender paid for the first part
                last = index == len(parts) - 1
                await self.bot.send_message(
                    chat_id,
                    to_html(part),
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(message) if last else None,
                )
                done += 1
        except TelegramError as exc:
            return replace(outcome(exc), parts_sent=done)
        return SendResult(Delivery.SENT)

    async def _send_file(self, chat_id: int, message: Outgoing) -> SendResult:
        attachment = message.attachment
        assert attachment is not None
        upload = InputFile(attachment.data, filename=attachment.filename)
        caption = to_html(message.text)[:CAPTION_MAX] or None
        try:
            if attachment.is_image:
                await self.bot.send_photo(chat_id, upload, caption=caption, parse_mode="HTML")
            else:
                await self.bot.send_document(chat_id, upload, caption=caption, parse_mode="HTML")
        except TelegramError as exc:
            return outcome(exc)
        return SendResult(Delivery.SENT)


def outcome(exc: TelegramError) -> SendResult:
    """What a failed request means for the message (and the person)."""
    detail = f"{type(exc).__name__}: {exc.message}"[:200]
    if isinstance(exc, RetryAfter):
        return SendResult(Delivery.THROTTLED, retry_after=retry_seconds(exc), detail=detail)
    if isinstance(exc, Forbidden):
        if any(word in exc.message.lower() for word in GONE):
            return SendResult(Delivery.UNREACHABLE, detail=detail)
        return SendResult(Delivery.RETRY, retry_after=60, detail=detail)  # may pass
    if isinstance(exc, BadRequest):
        if any(word in exc.message.lower() for word in GONE):
            return SendResult(Delivery.UNREACHABLE, detail=detail)
        log.warning("Telegram refused a message: %s", exc.message)
        return SendResult(Delivery.FAILED, detail=detail)
    if isinstance(exc, TimedOut | NetworkError):
        cause = exc.__cause__
        if isinstance(cause, NOT_SENT) or not isinstance(cause, httpx.HTTPError):
            # Never left, or Telegram answered with an error status (5xx): not delivered.
            return SendResult(Delivery.RETRY, retry_after=2, detail=detail)
        return SendResult(Delivery.UNKNOWN, detail=detail)
    return SendResult(Delivery.RETRY, retry_after=10, detail=detail)


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB warns while it moves from int to timedelta
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
