"""A whole episode over Matrix: invite, triage answered by numbers, words and a reaction,
enrolment, then seven daily check-ins as the simulated clock moves; plain and encrypted."""

from datetime import datetime, time, timedelta
from uuid import uuid4

import pytest

from bot.clock import SimClock
from bot.matrix.render import content
from dialogs import Node
from tests.matrix.harness import START, TZ, Chat, World
from tests.support.synapse import Synapse

# (answer, how): the option's number, its label, or a number reaction.
TRIAGE = [
    ("agree", "reaction"),
    *[("no", "number" if i % 2 else "words") for i in range(12)],
    ("later", "number"),
    ("dull", "words"),
    ("deadlift", "number"),
    ("yes", "reaction"),
    ("6", "number"),  # the pain score: a scale, answered with the number itself
    ("morning", "words"),  # a bare "1" here would be read as the hour 01:00
]
CHECKINS = [(6, "same"), (5, "better"), (4, "better"), (3, "better"), (2, "better")]
CHECKINS += [(1, "better"), (1, "same")]
CHECKIN_TIME = time(8, 30)  # half an hour after the morning check-in is due


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_a_week_of_coaching_in_a_direct_chat(
    synapse: Synapse, matrix_world: World, encrypted: bool
) -> None:
    bot_user = synapse.register(f"coach-{uuid4().hex[:8]}")
    bot = await matrix_world.bot(synapse, bot_user, SimClock(START))
    person = await matrix_world.person(synapse, "alex", bot_user.user_id, e2e=encrypted)
    await person.open_chat(encrypted=encrypted)
    chat = Chat(bot, person)

    opening = await chat.say("my back hurts after deadlifts yesterday")
    assert "not a doctor" in opening[0].body
    consent = opening[-1]
    assert consent.body.endswith("1. Yes, I agree\n2. No, thanks")
    assert consent.source["content"]["format"] == "org.matrix.custom.html"
    assert "<ol><li>Yes, I agree</li><li>No, thanks</li></ol>" in consent.formatted_body
    assert consent.decrypted is encrypted

    for value, how in TRIAGE:
        replies = await chat.answer(value, how)
        assert replies, f"no reply to {value!r}"
    assert "You're in!" in " ".join(m.body for m in replies)
    assert await node(chat) is Node.ENROLLED

    for day, (score, trend) in enumerate(CHECKINS, 1):
        moment = datetime.combine(START.date() + timedelta(days=day), CHECKIN_TIME, TZ)
        checkin = await chat.at(moment)
        assert [m.body.split(":")[0] for m in checkin] == [f"Check-in, day {day}"]
        await chat.answer(str(score))
        await chat.answer(trend, "words" if day % 2 else "number")
        closing = await chat.answer("no")
    assert "closing your plan" in closing[0].body

    state = await bot.coach.service.state_of(chat.address)
    assert state is not None and state.episode is not None
    assert state.episode.status == "closed"
    # Every message the bot sent arrived once, in order, and nothing else was posted.
    sent = bot.recorder.sent_to(chat.address)
    assert [m.body for m in person.received] == [content(m)["body"] for m in sent]
    handled = await bot.seen_ids()
    assert handled.isdisjoint(m.event_id for m in person.received)  # its own: never handled


async def node(chat: Chat) -> Node | None:
    state = await chat.bot.coach.service.state_of(chat.address)
    return state.node if state is not None else None
