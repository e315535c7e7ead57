"""Which rooms the bot is in: it joins direct-message invites and leaves rooms it is alone in."""

from __future__ import annotations

import logging

from nio import AsyncClient, InviteMemberEvent, JoinResponse, RoomLeaveResponse, SyncResponse

from bot.matrix.settings import MatrixSettings

log = logging.getLogger(__name__)


async def answer_invites(client: AsyncClient, settings: MatrixSettings, sync: SyncResponse) -> None:
    """Join direct-chat invites from allowed servers; decline the rest.

    A group room would mix several people's health answers into one conversation, so
    only invites marked ``is_direct`` (what a client's "start chat" sends) are taken.
    """
    for room_id, info in sync.rooms.invite.items():
        invite = next(
            (
                event
                for event in info.invite_state
                if isinstance(event, InviteMemberEvent)
                and event.state_key == client.user_id
                and event.membership == "invite"
            ),
            None,
        )
        if invite is None:
            continue
        refusal = None
        if not invite.content.get("is_direct"):
            refusal = "not a direct chat"
        elif not settings.allows(invite.sender):
            refusal = "inviter's server is not allowed"
        if refusal is not None:
            log.info("declining the invite to %s: %s", room_id, refusal)
            declined = await client.room_leave(room_id)
            if not isinstance(declined, RoomLeaveResponse):
                log.warning("could not decline the invite to %s: %s", room_id, declined)
            continue
        joined = await client.join(room_id)
        if not isinstance(joined, JoinResponse):
            log.warning("could not join %s: %s", room_id, joined)


async def leave_if_alone(client: AsyncClient, sync: SyncResponse) -> list[str]:
    """Leave (and forget) rooms where everyone else has left; returns their ids.

    Forgotten rooms drop out of the client's room list, which is how the transport knows
    that a later message to that address cannot be delivered.
    """
    left = []
    for room_id in sync.rooms.join:
        room = client.rooms.get(room_id)
        if room is None or room.joined_count > 1 or room.invited_count > 0:
            continue
        log.info("leaving %s: nobody else is in it", room_id)
        response = await client.room_leave(room_id)
        if isinstance(response, RoomLeaveResponse):
            await client.room_forget(room_id)
            left.append(room_id)
    return left
