"""The coach on a real Synapse, and a person talking to it through a second nio client.

The bot runs as in production (``run_matrix`` syncing in the background) on a SimClock;
the test delivers the outbox itself (``coach.sender.flush()``) once the bot has handled a
message, so every exchange is deterministic: the person waits for exactly the messages
the bot sent. Waits are long-poll syncs or short polls of the database, bounded by a
deadline; nothing sleeps to wait for a schedule.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from uuid import uuid4
from zoneinfo import ZoneInfo

from nio import (
    AsyncClient,
    AsyncClientConfig,
    EnableEncryptionBuilder,
    LoginResponse,
    RoomCreateResponse,
    RoomMessageText,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)
from nio.store import SqliteStore
from sqlalchemy import select

from bot.app import Coach
from bot.clock import SimClock
from bot.config import Config
from bot.db.models import SeenEvent
from bot.matrix import MatrixSettings, MatrixTransport, build_transport, run_matrix
from bot.matrix.transport import address_of
from bot.transport import Delivery, Outgoing, SendResult
from content.loader import Content
from dialogs.intents import Matcher
from tests.support.polling import DEADLINE_S, until
from tests.support.synapse import MatrixUser, Synapse

TZ = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 24, 19, 30, tzinfo=TZ)  # as in the demo: the week crosses DST
PERSON_FILTER = {"room": {"timeline": {"limit": 200}}, "presence": {"types": []}}
KEYCAPS = {n: f"{n}\ufe0f\u20e3" for n in range(10)} | {10: "\U0001f51f"}
How = Literal["number", "words", "reaction"]


class Recorder:
    """Passes sends to the Matrix transport and remembers what was sent and how it went."""

    prefix = "matrix"

    def __init__(self, inner: MatrixTransport) -> None:
        self.inner = inner
        self.log: list[tuple[str, Outgoing, SendResult]] = []
        self.last_question: dict[str, Outgoing] = {}

    async def send(self, address: str, message: Outgoing) -> SendResult:
        result = await self.inner.send(address, message)
        self.log.append((address, message, result))
        if result.delivery is Delivery.SENT and (message.options or message.scale):
            self.last_question[address] = message
        return result

    def sent_to(self, address: str) -> list[Outgoing]:
        return [m for a, m, r in self.log if a == address and r.delivery is Delivery.SENT]


@dataclass
class Bot:
    coach: Coach
    transport: MatrixTransport
    recorder: Recorder
    clock: SimClock
    task: asyncio.Task[None]
    stop: asyncio.Event

    async def handled(self, event_id: str) -> None:
        """Wait until the bot has handled this event (its id is recorded as seen)."""
        await until(lambda: self.has_seen(event_id), f"the bot never handled {event_id}")

    async def has_seen(self, event_id: str) -> bool:
        async with self.coach.db.session() as session:
            found = await session.execute(
                select(SeenEvent.id).where(
                    SeenEvent.source == "matrix", SeenEvent.event_key == event_id
                )
            )
            return found.first() is not None

    async def seen_ids(self) -> set[str]:
        async with self.coach.db.session() as session:
            rows = await session.execute(select(SeenEvent.event_key))
            return set(rows.scalars())

    async def shut_down(self) -> None:
        self.stop.set()
        await self.task
        await self.coach.close()


async def start_bot(
    server: Synapse,
    user: MatrixUser,
    data_dir: Path,
    clock: SimClock,
    content: tuple[Content, Matcher],
) -> Bot:
    """The coach with its Matrix transport, logged in and past its first sync."""
    settings = MatrixSettings(
        homeserver=server.base_url, user_id=user.user_id, password=user.password
    )
    config = Config(data_dir=data_dir, default_lang="en")
    transport = build_transport(config, settings)
    recorder = Recorder(transport)
    coach = Coach(config, clock, [recorder], content=content)
    await coach.start()
    stop = asyncio.Event()
    task = asyncio.create_task(run_matrix(coach, transport, stop))

    async def ready() -> bool:
        if task.done():
            task.result()  # raise what stopped it
        return transport.ready.is_set()

    await until(ready, "the bot did not finish its first sync")
    return Bot(coach, transport, recorder, clock, task, stop)


@dataclass
class Person:
    """Someone with a Matrix client who opens a direct chat with the bot."""

    client: AsyncClient
    bot_id: str
    room_id: str = ""
    received: list[RoomMessageText] = field(default_factory=list)  # the bot's, in order
    timeline: list[Any] = field(default_factory=list)  # every event in the room

    async def sync(self, timeout_ms: int = 1000) -> SyncResponse:
        response = await self.client.sync(timeout=timeout_ms, sync_filter=PERSON_FILTER)
        assert isinstance(response, SyncResponse), response
        room = response.rooms.join.get(self.room_id)
        for event in room.timeline.events if room else []:
            self.timeline.append(event)
            if isinstance(event, RoomMessageText) and event.sender == self.bot_id:
                self.received.append(event)
        if self.client.olm is not None:
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
            await self.client.send_to_device_messages()
        return response

    async def open_chat(self, *, encrypted: bool = False, wait_for_join: bool = True) -> str:
        created = await self.client.room_create(
            is_direct=True,
            preset=RoomPreset.trusted_private_chat,
            invite=[self.bot_id],
            initial_state=[EnableEncryptionBuilder().as_dict()] if encrypted else [],
        )
        assert isinstance(created, RoomCreateResponse), created
        self.room_id = created.room_id
        if wait_for_join:
            await self.bot_joined()
        return self.room_id

    async def bot_joined(self) -> None:
        """Sync until the bot is a joined member (so an encrypted message reaches it)."""
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            room = self.client.rooms.get(self.room_id)
            if (
                room is not None
                and self.bot_id in room.users
                and self.bot_id not in (room.invited_users)
            ):
                return
            await self.sync()
        raise AssertionError("the bot did not join the room")

    async def say(self, text: str) -> str:
        return await self._send("m.room.message", {"msgtype": "m.text", "body": text})

    async def react(self, number: int) -> str:
        """React with a number emoji to the bot's last message."""
        target = self.received[-1].event_id
        relates = {"rel_type": "m.annotation", "event_id": target, "key": KEYCAPS[number]}
        return await self._send("m.reaction", {"m.relates_to": relates})

    async def _send(self, kind: str, content: dict[str, Any]) -> str:
        response = await self.client.room_send(
            self.room_id, kind, content, ignore_unverified_devices=True
        )
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    async def read(self, count: int) -> list[RoomMessageText]:
        """Sync until ``count`` bot messages have arrived in all; fail if more arrive."""
        deadline = time.monotonic() + DEADLINE_S
        while len(self.received) < count and time.monotonic() < deadline:
            await self.sync()
        assert len(self.received) == count, (
            f"expected {count} messages from the bot, got {len(self.received)}: "
            + " | ".join(m.body[:40] for m in self.received[-5:])
        )
        return self.received


async def log_in_person(
    server: Synapse, user: MatrixUser, store: Path, bot_id: str, *, e2e: bool
) -> Person:
    store.mkdir(parents=True, exist_ok=True)
    config = AsyncClientConfig(encryption_enabled=e2e, store=SqliteStore, store_sync_tokens=False)
    client = AsyncClient(
        server.base_url, user.user_id, store_path=str(store) if e2e else "", config=config
    )
    response = await client.login(user.password, device_name="person")
    assert isinstance(response, LoginResponse), response
    if client.should_upload_keys:
        await client.keys_upload()
    return Person(client, bot_id)


@dataclass
class Chat:
    """One person's conversation with the bot: answer, then read every reply."""

    bot: Bot
    person: Person

    @property
    def address(self) -> str:
        return address_of(self.person.room_id)

    async def exchange(self, send: Callable[[], Awaitable[str]]) -> list[RoomMessageText]:
        """Send, wait until the bot handled it, deliver the outbox, read the replies."""
        before = len(self.person.received)
        event_id = await send()
        await self.bot.handled(event_id)
        await self.deliver()
        return self.person.received[before:]

    async def deliver(self) -> None:
        await self.bot.coach.sender.flush()
        await self.person.read(len(self.bot.recorder.sent_to(self.address)))

    async def say(self, text: str) -> list[RoomMessageText]:
        return await self.exchange(lambda: self.person.say(text))

    async def answer(self, value: str, how: How = "number") -> list[RoomMessageText]:
        """Pick the option with this value of the last question, the way ``how`` says."""
        question = self.bot.recorder.last_question[self.address]
        values = [option.value for option in question.options]
        if value not in values:
            return await self.say(value)  # a number for a scale, or typed text
        index = values.index(value) + 1
        if how == "reaction":
            return await self.exchange(lambda: self.person.react(index))
        if how == "words":
            return await self.say(question.options[index - 1].label)
        return await self.say(str(index))

    async def at(self, moment: datetime) -> list[RoomMessageText]:
        """Move the clock; the check-ins that became due are delivered."""
        before = len(self.person.received)
        self.bot.clock.set(moment)
        await self.bot.coach.tick()
        await self.deliver()
        return self.person.received[before:]


class World:
    """Bots and people of one test, on any server; ``close`` stops them all."""

    def __init__(self, tmp_path: Path, content: tuple[Content, Matcher]) -> None:
        self.tmp_path, self.content = tmp_path, content
        self.bots: list[Bot] = []
        self.people: list[Person] = []

    async def bot(
        self, server: Synapse, user: MatrixUser, clock: SimClock, data_dir: Path | None = None
    ) -> Bot:
        bot = await start_bot(server, user, data_dir or self.tmp_path / "bot", clock, self.content)
        self.bots.append(bot)
        return bot

    async def person(self, server: Synapse, name: str, bot_id: str, *, e2e: bool = False) -> Person:
        user = server.register(f"{name}-{uuid4().hex[:8]}")
        person = await log_in_person(server, user, self.tmp_path / name, bot_id, e2e=e2e)
        self.people.append(person)
        return person

    async def close(self) -> None:
        for bot in self.bots:
            if not bot.task.done():
                await bot.shut_down()
        for person in self.people:
            await person.client.close()
