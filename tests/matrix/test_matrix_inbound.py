"""What the bot listens to: invites it accepts, history and messages it ignores."""

from uuid import uuid4

from nio import RoomCreateResponse, RoomGetStateEventResponse, RoomPreset

from bot.clock import SimClock
from bot.matrix import MatrixSettings
from dialogs import Node
from tests.matrix.harness import START, Chat, World, until
from tests.support.synapse import Synapse


async def test_history_from_before_the_join_is_not_answered(
    synapse: Synapse, matrix_world: World
) -> None:
    bot_user = synapse.register(f"coach-{uuid4().hex[:8]}")
    person = await matrix_world.person(synapse, "ann", bot_user.user_id)
    # Invited while the bot is not running, so this is written before it joins; the
    # room's history is visible to members, so the bot's first sync of the room has it.
    await person.open_chat(wait_for_join=False)
    early = await person.say("my back hurts")
    bot = await matrix_world.bot(synapse, bot_user, SimClock(START))
    await person.bot_joined()

    replies = await Chat(bot, person).say("hello")

    assert early not in await bot.seen_ids()
    assert not any("Do you agree" in m.body for m in replies)  # no triage was started
    state = await bot.coach.service.state_of(f"matrix:{person.room_id}")
    assert state is not None and state.node is Node.IDLE


async def test_invites_that_are_not_direct_or_from_other_servers_are_declined(
    synapse: Synapse, matrix_world: World
) -> None:
    bot_user = synapse.register(f"coach-{uuid4().hex[:8]}")
    person = await matrix_world.person(synapse, "bo", bot_user.user_id)
    group = await person.client.room_create(
        name="training group", preset=RoomPreset.private_chat, invite=[bot_user.user_id]
    )
    assert isinstance(group, RoomCreateResponse), group
    direct = await person.client.room_create(
        is_direct=True, preset=RoomPreset.trusted_private_chat, invite=[bot_user.user_id]
    )
    assert isinstance(direct, RoomCreateResponse), direct
    bot = await matrix_world.bot(synapse, bot_user, SimClock(START))
    settings = bot.transport.settings
    assert settings.allows(person.client.user_id)
    assert not MatrixSettings(**{**settings.__dict__, "allowed_servers": {"example.org"}}).allows(
        person.client.user_id
    )

    async def membership_of_bot(room_id: str) -> str:
        state = await person.client.room_get_state_event(room_id, "m.room.member", bot_user.user_id)
        assert isinstance(state, RoomGetStateEventResponse), state
        return str(state.content["membership"])

    async def answered() -> bool:
        joined = await membership_of_bot(direct.room_id) == "join"
        return joined and await membership_of_bot(group.room_id) == "leave"

    await until(answered, "the bot did not join the direct chat and decline the group")
