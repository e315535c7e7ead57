"""The bot killed mid-conversation and started again: nothing repeated, nothing missed."""

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import pytest
from nio import MegolmEvent
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import store
from bot.clock import SimClock
from bot.db.models import SeenEvent
from bot.service import Service
from bot.transport import Delivery, Outgoing
from dialogs import Event, Transition
from tests.matrix.harness import START, Bot, Chat, World, until
from tests.support.synapse import Synapse


class Killed(BaseException):
    """The process dies here: no handler catches it, no further line of the loop runs."""


SAFETY = re.compile(r"Safety question (\d+)/12")


async def test_a_restart_mid_conversation_neither_repeats_nor_misses(
    synapse: Synapse, matrix_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot_user = synapse.register(f"coach-{uuid4().hex[:8]}")
    clock = SimClock(START)
    first = await matrix_world.bot(synapse, bot_user, clock)
    device = first.transport.client.device_id
    person = await matrix_world.person(synapse, "kim", bot_user.user_id, e2e=True)
    await person.open_chat(encrypted=True)
    chat = Chat(first, person)
    await chat.say("my back hurts")
    await chat.answer("agree")
    await chat.answer("no")  # safety question 1

    # The bot handles the answer to question 2, queues its reply, and dies before it
    # can store the sync token (and before the reply is sent).
    write_cursor = store.write_cursor
    handled_before = len(await first.seen_ids())

    async def die_after_handling(session: AsyncSession, *args: Any) -> None:
        seen = await session.scalar(select(func.count()).select_from(SeenEvent))
        if seen is not None and seen > handled_before:
            raise Killed
        await write_cursor(session, *args)

    monkeypatch.setattr(store, "write_cursor", die_after_handling)
    answered = await person.say("2")
    with pytest.raises(Killed):
        await asyncio.wait_for(first.task, 20)
    await first.coach.close()
    monkeypatch.undo()
    assert await first.has_seen(answered)

    # Meanwhile the person answers the next two questions, not waiting for them.
    while_down = [await person.say("No"), await person.say("2")]

    # Record what the new bot is handed: the answer handled before the crash comes again.
    handed: list[tuple[str, bool]] = []
    handle = Service.handle

    async def spy(self: Service, address: str, event: Event, **kw: Any) -> Transition | None:
        result = await handle(self, address, event, **kw)
        handed.append((kw["seen"][1], result is not None))
        return result

    monkeypatch.setattr(Service, "handle", spy)
    second = await matrix_world.bot(synapse, bot_user, clock, data_dir=first.coach.config.data_dir)
    assert second.transport.client.device_id == device  # same device, same keys
    chat.bot = second
    for event_id in while_down:
        await second.handled(event_id)
    await second.coach.sender.flush()
    sent = first.recorder.sent_to(chat.address) + second.recorder.sent_to(chat.address)
    await person.read(len(sent))

    asked = [int(m[1]) for m in (SAFETY.search(e.body) for e in person.received) if m]
    assert asked == [1, 2, 3, 4, 5]  # each question once, in order, none skipped
    assert not any(isinstance(e, MegolmEvent) for e in person.timeline)  # all decrypted
    assert handed == [(answered, False), (while_down[0], True), (while_down[1], True)]
    assert await node_turn_question(chat) == "Safety question 5/12"


async def node_turn_question(chat: Chat) -> str:
    last = chat.bot.recorder.last_question[chat.address]
    found = SAFETY.search(last.text)
    return found[0] if found else last.text


async def test_a_send_retried_with_its_transaction_id_posts_once(
    synapse: Synapse, matrix_world: World
) -> None:
    bot_user = synapse.register(f"coach-{uuid4().hex[:8]}")
    clock = SimClock(START)
    first = await matrix_world.bot(synapse, bot_user, clock)
    person = await matrix_world.person(synapse, "lee", bot_user.user_id)
    room_id = await person.open_chat()
    address = f"matrix:{room_id}"

    await until(knows_room(first, room_id), "the bot never saw the room")
    day3 = Outgoing(text="Check-in, day 3", key="checkin:7:3")
    assert (await first.transport.send(address, day3)).delivery is Delivery.SENT
    assert (await first.transport.send(address, day3)).delivery is Delivery.SENT
    # Again after a restart: the same device, so the same transaction.
    await first.shut_down()
    second = await matrix_world.bot(synapse, bot_user, clock, data_dir=first.coach.config.data_dir)
    await until(knows_room(second, room_id), "the restarted bot never saw the room")
    assert (await second.transport.send(address, day3)).delivery is Delivery.SENT
    day4 = Outgoing(text="Check-in, day 4", key="checkin:7:4")
    assert (await second.transport.send(address, day4)).delivery is Delivery.SENT

    await person.read(2)
    assert [m.body for m in person.received] == ["Check-in, day 3", "Check-in, day 4"]


def knows_room(bot: Bot, room_id: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return room_id in bot.transport.client.rooms

    return check
