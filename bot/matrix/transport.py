"""Sending outbox messages into Matrix rooms; the address is ``matrix:<room id>``.

The bot joins direct-message rooms only and serves one person per room, so a room id
names one conversation. Each send's transaction id comes from the outbox key: a retry
(after a timeout, a 429, a restart) is the same PUT, and Synapse posts it once. A file
is uploaded, then posted as a second event with a transaction id of its own (``files``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import ClientError
from nio import AsyncClient, ErrorResponse, LocalProtocolError, Response, UploadError

from bot.matrix import files, render
from bot.matrix.session import log_in, new_client
from bot.matrix.settings import MatrixSettings
from bot.transport import Attachment, Delivery, Outgoing, SendResult

log = logging.getLogger(__name__)
PREFIX = "matrix"
READY_WAIT_S = 10.0
# The room is gone for us: we left, were kicked or banned, or it never existed.
GONE = ("M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN_ROOM")
REFUSED = ("M_TOO_LARGE", "M_BAD_JSON", "M_NOT_JSON", "M_INVALID_PARAM")


def address_of(room_id: str) -> str:
    return f"{PREFIX}:{room_id}"


def room_of(address: str) -> str:
    return address.split(":", 1)[1]


class MatrixTransport:
    """The bot's Matrix device: the sender sends through it, the sync loop receives on it."""

    prefix = PREFIX
    # A send is a PUT under a transaction id derived from the outbox key: repeating it
    # cannot post twice, so a send cut off by a crash is simply tried again.
    idempotent = True

    def __init__(self, settings: MatrixSettings, data_dir: Path) -> None:
        self.settings, self.data_dir = settings, data_dir
        self.client: AsyncClient = new_client(settings, data_dir)
        # Set by the sync loop once it knows the rooms (an encrypted send needs them).
        self.ready = asyncio.Event()

    async def log_in(self) -> None:
        await log_in(self.client, self.settings, self.data_dir)

    async def close(self) -> None:
        self.ready.clear()
        await self.client.close()

    async def send(self, address: str, message: Outgoing) -> SendResult:
        if not await self._wait_ready():
            return SendResult(Delivery.RETRY, retry_after=5, detail="matrix not connected yet")
        room_id = room_of(address)
        if room_id not in self.client.rooms:
            return SendResult(Delivery.UNREACHABLE, detail="not in this room")
        # The text, then the file: each its own event under its own stable transaction id.
        parts: list[Callable[[], Awaitable[SendResult]]] = []
        attachment = message.attachment
        if message.text or message.options or attachment is None:
            # A file without a caption (the export's) gets no empty message before it.
            parts.append(lambda: self._post(room_id, render.content(message), message.key))
        if attachment is not None:
            parts.append(lambda: self._send_file(room_id, attachment, message.key))
        for done, part in enumerate(parts[message.parts_sent :]):
            result = await _guarded(part)
            if result.delivery is not Delivery.SENT:
                # What arrived is not sent again (though its transaction id would make it safe).
                return replace(result, parts_sent=done)
        return SendResult(Delivery.SENT)

    async def _send_file(self, room_id: str, attachment: Attachment, key: str) -> SendResult:
        encrypted = self.client.rooms[room_id].encrypted
        uploaded = await files.upload(self.client, attachment, encrypt=encrypted)
        if isinstance(uploaded, UploadError):
            return _result(uploaded, room=False)
        event = files.content(attachment, uploaded)
        return await self._post(room_id, event, render.file_key(key))

    async def _post(self, room_id: str, content: dict[str, Any], key: str) -> SendResult:
        response = await self.client.room_send(
            room_id,
            "m.room.message",
            content,
            tx_id=render.transaction_id(key),
            # Trust on first use: a coach bot cannot verify anyone's devices, so it
            # encrypts for every device of the room's members that the server lists.
            ignore_unverified_devices=True,
        )
        return _result(response, room=True)

    async def _wait_ready(self) -> bool:
        if self.ready.is_set():
            return True
        try:
            await asyncio.wait_for(self.ready.wait(), READY_WAIT_S)
        except TimeoutError:
            return False
        return True


async def _guarded(part: Callable[[], Awaitable[SendResult]]) -> SendResult:
    try:
        return await part()
    except (ClientError, TimeoutError) as exc:
        # Maybe sent, maybe not: the same transaction id makes the retry safe.
        return SendResult(Delivery.RETRY, retry_after=2, detail=f"network: {exc!r}"[:200])
    except LocalProtocolError as exc:
        # nio could not prepare the encryption (a key query or claim raced or failed).
        return SendResult(Delivery.RETRY, retry_after=2, detail=f"encryption: {exc}"[:200])


def _result(response: Response, *, room: bool) -> SendResult:
    """What the server's answer means; ``room`` is False for an upload to the media store."""
    if not isinstance(response, ErrorResponse):
        return SendResult(Delivery.SENT)
    code = response.status_code or ""
    detail = str(response)[:200]
    if code == "M_LIMIT_EXCEEDED" or response.retry_after_ms:
        return SendResult(
            Delivery.THROTTLED, retry_after=(response.retry_after_ms or 5000) / 1000, detail=detail
        )
    if code in GONE:
        # A room that refuses us is gone; an upload refused (M_FORBIDDEN) says nothing about
        # the person, so it must not stop their check-ins: only this message fails.
        return SendResult(Delivery.UNREACHABLE if room else Delivery.FAILED, detail=detail)
    if code in REFUSED:
        return SendResult(Delivery.FAILED, detail=detail)
    return SendResult(Delivery.RETRY, retry_after=5, detail=detail)
