"""The biweekly digest as a conversation: subscribe (double opt-in), unsubscribe.

The issues themselves are planned by ``scheduler.digest``; this module only decides
what a person is told and what is recorded when they ask to join or leave.
"""

from __future__ import annotations

from dataclasses import replace

from dialogs.actions import Action, Option, RecordSubscription, Say
from dialogs.context import Context
from dialogs.render import ask, say, text
from dialogs.states import SIDE_FLOWS, DigestStatus, Node, State
from dialogs.texts import M

SUBSCRIBE = "/subscribe"
UNSUBSCRIBE = "/unsubscribe"


def subscribe(state: State, ctx: Context) -> tuple[State, list[Action]]:
    """Ask once more before anything is sent: the second step of the double opt-in."""
    if state.profile.digest == "on":
        # Said again (perhaps after blocking and coming back): make sure the row is there.
        return state, [RecordSubscription("on"), say(state, ctx, M.ALREADY_SUBSCRIBED)]
    if state.node not in SIDE_FLOWS:
        state = replace(state, resume=(state.node, state.index))
    state = _with_digest(state, "pending")
    state, question = ask(state, ctx, Node.CONFIRM_SUBSCRIBE)
    return state, [RecordSubscription("pending"), question]


def confirmed(state: State, yes: bool, ctx: Context) -> tuple[State, list[Action]]:
    status: DigestStatus = "on" if yes else "off"
    state = _with_digest(state, status)
    key = M.SUBSCRIBED if yes else M.NOT_SUBSCRIBED
    return state, [RecordSubscription(status), say(state, ctx, key)]


def unsubscribe(state: State, ctx: Context) -> tuple[State, list[Action]]:
    if state.profile.digest == "off":
        return state, [RecordSubscription("off"), say(state, ctx, M.WAS_NOT_SUBSCRIBED)]
    state = _with_digest(state, "off")
    return state, [RecordSubscription("off"), say(state, ctx, M.UNSUBSCRIBED)]


def offer(message: Say, state: State, ctx: Context) -> Say:
    """A subscribe button under ``message`` (the last one of an episode), if not yet on."""
    if state.profile.digest == "on":
        return message
    button = Option(SUBSCRIBE, text(state, ctx, M.SUBSCRIBE_BUTTON))
    return replace(message, options=(*message.options, button))


def unsubscribe_button(state: State, ctx: Context) -> Option:
    return Option(UNSUBSCRIBE, text(state, ctx, M.UNSUBSCRIBE_BUTTON))


def _with_digest(state: State, status: DigestStatus) -> State:
    return replace(state, profile=replace(state.profile, digest=status))
