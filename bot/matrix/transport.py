"""Sending outbox messages into Matrix rooms; the address is ``matrix:<room id>``.

The bot joins direct-message rooms only and serves one person per room, so a room id
names one conversation. Each send's transaction id comes from the outbox key: a retry
(after a timeout, a 429, a restart) is the same PUT, and Synapse posts it once.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiohttp import ClientError
from nio import AsyncClient, LocalProtocolError, RoomSendError, RoomSendResponse

from bot.matrix import render
from bot.matrix.session import log_in, new_client
from bot.matrix.settings import MatrixSettings
from bot.transport import Delivery, Outgoing, SendResult

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
        try:
            response = await self.client.room_send(
                room_id,
                "m.room.message",
                render.content(message),
                tx_id=render.transaction_id(message.key),
                # Trust on first use: a coach bot cannot verify anyone's devices, so it
                # encrypts for every device of the room's members that the server lists.
                ignore_unverified_devices=True,
            )
        except (ClientError, TimeoutError) as exc:
            # Maybe sent, maybe not: the same transaction id makes the retry safe.
            return SendResult(Delivery.RETRY, retry_after=2, detail=f"network: {exc!r}"[:200])
        except LocalProtocolError as exc:
            # nio could not prepare the encryption (a key query or claim raced or failed).
            return SendResult(Delivery.RETRY, retry_after=2, detail=f"encryption: {exc}"[:200])
        return _result(response)

    async def _wait_ready(self) -> bool:
        if self.ready.is_set():
            return True
        try:
            await asyncio.wait_for(self.ready.wait(), READY_WAIT_S)
        except TimeoutError:
            return False
        return True


def _result(response: RoomSendResponse | RoomSendError) -> SendResult:
    if isinstance(response, RoomSendResponse):
        return SendResult(Delivery.SENT)
    code = response.status_code or ""
    detail = str(response)[:200]
    if code == "M_LIMIT_EXCEEDED" or response.retry_after_ms:
        return SendResult(
            Delivery.THROTTLED, retry_after=(response.retry_after_ms or 5000) / 1000, detail=detail
        )
    if code in GONE:
        return SendResult(Delivery.UNREACHABLE, detail=detail)
    if code in REFUSED:
        return SendResult(Delivery.FAILED, detail=detail)
    return SendResult(Delivery.RETRY, retry_after=5, detail=detail)
