"""Delivery against Synapse's limits and membership: 429s obeyed, a left room unreachable."""

import asyncio
from collections import Counter
from datetime import timedelta
from uuid import uuid4

from sqlalchemy import func, select

from bot.clock import SimClock
from bot.db.models import OutboxRow, User
from bot.matrix.render import content
from bot.transport import Delivery
from dialogs import Text
from tests.matrix.harness import START, Chat, World, until
from tests.support.synapse import Synapse


async def test_rate_limited_sends_wait_and_arrive_once(
    strict_synapse: Synapse, matrix_world: World
) -> None:
    bot_user = strict_synapse.register(f"coach-{uuid4().hex[:8]}")
    clock = SimClock(START)
    bot = await matrix_world.bot(strict_synapse, bot_user, clock)
    person = await matrix_world.person(strict_synapse, "max", bot_user.user_id)
    await person.open_chat()
    chat = Chat(bot, person)

    # Two answers make four messages from the bot; the server allows a burst of three.
    for text in ("my back hurts", "1"):
        await bot.handled(await person.say(text))
    for _ in range(20):
        await bot.coach.sender.flush()
        if not await pending(chat):
            break
        waits = [r.retry_after for _, _, r in bot.recorder.log if r.delivery is Delivery.THROTTLED]
        await asyncio.sleep(waits[-1])  # the server's limit runs on the wall clock
        clock.advance(timedelta(minutes=5))  # past the sender's backoff on the coach's clock
    sent = bot.recorder.sent_to(chat.address)
    await person.read(len(sent))

    refused = [r for _, _, r in bot.recorder.log if r.delivery is Delivery.THROTTLED]
    assert refused and all("M_LIMIT_EXCEEDED" in r.detail for r in refused)
    assert all(0 < r.retry_after < 10 for r in refused)
    assert len(sent) == 4
    bodies = [m.body for m in person.received]
    assert bodies == [content(m)["body"] for m in sent]  # each once, in order
    assert max(Counter(bodies).values()) == 1


async def pending(chat: Chat) -> int:
    async with chat.bot.coach.db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxRow)
            .where(OutboxRow.address == chat.address, OutboxRow.status == "pending")
        )
        return int(count or 0)


async def test_the_bot_leaves_an_empty_room_and_stops_writing_there(
    synapse: Synapse, matrix_world: World
) -> None:
    bot_user = synapse.register(f"coach-{uuid4().hex[:8]}")
    bot = await matrix_world.bot(synapse, bot_user, SimClock(START))
    person = await matrix_world.person(synapse, "sue", bot_user.user_id)
    room_id = await person.open_chat()
    chat = Chat(bot, person)
    await chat.say("my back hurts")

    await person.client.room_leave(room_id)

    async def bot_left() -> bool:
        return room_id not in bot.transport.client.rooms

    await until(bot_left, "the bot stayed in the empty room")
    # Something for the person is queued anyway (say, a check-in): it cannot be delivered.
    await bot.coach.service.handle(chat.address, Text("hello"))
    await bot.coach.sender.flush()
    assert bot.recorder.log[-1][2].delivery is Delivery.UNREACHABLE
    async with bot.coach.db.session() as session:
        user = await session.scalar(select(User).where(User.address == chat.address))
        assert user is not None and user.unreachable
