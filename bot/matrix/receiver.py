"""The sync loop: every message in the bot's rooms goes through ``Service.handle`` once.

The sync token is written to the database only after the events of its sync were
handled; after a crash the same events come again and the event-id check in
``Service.handle`` skips those already answered. Nothing is lost and nothing repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import ClientError
from nio import Event, LocalProtocolError, SyncError, SyncResponse

from bot import metrics, store
from bot.app import Coach
from bot.config import ConfigError
from bot.matrix import inbound, membership
from bot.matrix.transport import MatrixTransport, address_of
from dialogs import Text

log = logging.getLogger(__name__)
LONG_POLL_MS = 30_000
MAX_BACKOFF_S = 60.0
# Enough history per room that a catch-up after a long stop still sees every message.
SYNC_FILTER = {"room": {"timeline": {"limit": 100}}, "presence": {"types": []}}


class SyncFailed(Exception):
    """The homeserver answered a sync with an error."""


class Receiver:
    def __init__(self, coach: Coach, transport: MatrixTransport, *, poll_ms: int = LONG_POLL_MS):
        self.coach, self.transport, self.poll_ms = coach, transport, poll_ms
        self.client = transport.client
        self.cursor = f"matrix:{transport.settings.user_id}"
        self.token: str | None = None

    async def run(self) -> None:
        """Log in, then sync until cancelled; errors are logged and retried with backoff."""
        await self._retrying(self._connect)
        while True:
            await self._retrying(self.sync_once)

    async def _connect(self) -> None:
        await self.transport.log_in()
        async with self.coach.db.session() as session:
            self.token = await store.read_cursor(session, self.cursor)

    async def sync_once(self) -> None:
        """One sync: handle its invites and messages, then store its token."""
        first = not self.transport.ready.is_set()
        self.client.next_batch = self.token  # ours, not what nio saw in a failed attempt
        sync = await self.client.sync(
            # The first sync of a run asks for every room's full state: nio keeps rooms in
            # memory only, and an encrypted send needs the room's members.
            timeout=0 if first else self.poll_ms,
            sync_filter=SYNC_FILTER,
            since=self.token,
            full_state=first or None,
        )
        if isinstance(sync, SyncError):
            if sync.retry_after_ms:
                await asyncio.sleep(sync.retry_after_ms / 1000)
            raise SyncFailed(str(sync))
        await self._keys()
        self.transport.ready.set()
        await membership.answer_invites(self.client, self.transport.settings, sync)
        if self.token is not None:
            # Without a token this is a fresh database: the first sync only marks the start.
            await self._handle_rooms(sync)
        await membership.leave_if_alone(self.client, sync)
        async with self.coach.db.session() as session:
            await store.write_cursor(session, self.cursor, sync.next_batch, self.coach.clock.now())
        self.token = sync.next_batch

    async def _handle_rooms(self, sync: SyncResponse) -> None:
        # Rooms in parallel, each room's messages in order.
        async with asyncio.TaskGroup() as group:
            for room_id, info in sync.rooms.join.items():
                events = info.timeline.events
                if info.timeline.limited and not inbound.joined_in(events, self.client.user_id):
                    # (A room just joined always comes "limited": its history is cut off.)
                    log.warning("%s: more events than one sync holds; older ones skipped", room_id)
                group.create_task(self._handle_room(room_id, events))

    async def _handle_room(self, room_id: str, events: Sequence[Event]) -> None:
        for event in inbound.undecryptable(events):
            log.warning("cannot decrypt %s in %s yet; asking for its key", event.event_id, room_id)
            with contextlib.suppress(LocalProtocolError):  # raised when already asked
                await self.client.request_room_key(event)
        found = inbound.messages(events, self.client.user_id)
        if not found:
            return
        room = self.client.rooms.get(room_id)
        if room is None or room.joined_count > 2:
            log.info("ignoring %d messages in %s: not a direct chat", len(found), room_id)
            return
        address = address_of(room_id)
        for message in found:
            metrics.UPDATES_IN.labels("matrix").inc()
            await self.coach.service.handle(
                address, Text(message.text), seen=("matrix", message.event_id)
            )

    async def _keys(self) -> None:
        """What nio's sync_forever does after each sync: keep the encryption keys current."""
        client = self.client
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def _retrying(self, step: Callable[[], Awaitable[None]]) -> None:
        backoff = 1.0
        while True:
            try:
                await step()
                return
            except (asyncio.CancelledError, ConfigError):
                raise  # stopping, or a login that no retry will fix
            except (ClientError, TimeoutError, SyncFailed) as exc:
                log.warning("Matrix: %s; trying again in %.0f s", exc, backoff)
            except Exception:
                log.exception("Matrix sync failed; trying again in %.0f s", backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
