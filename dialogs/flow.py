"""``step``: the one entry point of the pure dialog core."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from dialogs import checkin, commands, triage
from dialogs.actions import Action, Transition
from dialogs.answers import Answer, Expired, read_answer
from dialogs.context import Context
from dialogs.events import CheckinDue, Choice, Command, Event, Text, parse_command
from dialogs.render import emergency, reask, say
from dialogs.states import Node, Profile, State
from dialogs.texts import M

Step = tuple[State, list[Action]]
Handler = Callable[[State, Answer, Context], Step]
MAX_TEXT = 2000  # longer messages are read only this far

ANSWER_HANDLERS: dict[Node, Handler] = {
    Node.CONSENT: triage.on_consent,
    Node.REDFLAG: triage.on_redflag,
    Node.ONSET: triage.on_onset,
    Node.FEEL: triage.on_feel,
    Node.LIFT: triage.on_lift,
    Node.OFFER_PLAN: triage.on_offer_plan,
    Node.BASELINE: triage.on_baseline,
    Node.HOUR: triage.on_hour,
    Node.CHECKIN_PAIN: checkin.on_pain,
    Node.CHECKIN_TREND: checkin.on_trend,
    Node.CHECKIN_FLAG: checkin.on_flag,
    Node.CHECKIN_EMERGENCY: checkin.on_emergency,
    Node.OFFER_SUMMARY: checkin.summary_answer,
    Node.SETTINGS: commands.on_settings,
    Node.SETTINGS_HOUR: commands.on_settings_hour,
    Node.SETTINGS_TZ: commands.on_settings_tz,
    Node.LANGUAGE: commands.on_language,
    Node.CONFIRM_STOP: commands.on_confirm_stop,
    Node.CONFIRM_DELETE: commands.on_confirm_delete,
    Node.CONFIRM_SUBSCRIBE: commands.on_confirm_subscribe,
    Node.PRIVACY: commands.on_privacy,
}


def new_state(ctx: Context) -> State:
    return State(profile=Profile(lang=ctx.lang_hint or ctx.default_lang, tz=ctx.default_tz))


def step(state: State | None, event: Event, ctx: Context) -> Transition:
    """Decide what to say and what to record for ``event``; pure, no I/O, no clock."""
    state = state or new_state(ctx)
    new, actions = _step(state, event, ctx)
    stale = isinstance(event, Choice) and not isinstance(read_answer(state, event, ctx), Answer)
    return Transition(new, tuple(actions), stale=stale)


def _step(state: State, event: Event, ctx: Context) -> Step:
    if isinstance(event, CheckinDue):
        return checkin.due(state, event, ctx)
    if isinstance(event, Text):
        event = parse_command(event.text) or Text(event.text[:MAX_TEXT])
    if isinstance(event, Command):
        if event.name not in ("delete", "help", "language"):
            state, woke = _wake_if_paused(state, ctx)
            if woke:
                return state, woke
        return commands.handle(state, event, ctx)
    state, woke = _wake_if_paused(state, ctx)
    if woke:
        return state, woke
    if isinstance(event, Text):
        return _on_text(state, event, ctx)
    return _on_answer(state, event, ctx)


def _wake_if_paused(state: State, ctx: Context) -> Step:
    if state.episode is not None and state.episode.status == "paused":
        return checkin.wake(state, ctx)
    return state, []


def _on_text(state: State, event: Text, ctx: Context) -> Step:
    if not event.text.strip():
        return _reprompt(state, ctx, M.EMPTY)
    match = ctx.intents.detect(event.text)
    if match is not None and match.intent == "emergency":
        state, again = reask(state, ctx)
        return state, [emergency(state, ctx), *again]
    if state.node in (Node.IDLE, Node.ENROLLED):
        if not state.profile.lang_chosen:
            lang = match.lang if match is not None else ctx.intents.guess_language(event.text)
            if lang is not None:
                state = replace(state, profile=replace(state.profile, lang=lang))
        if match is not None and match.intent == "back_pain":
            return triage.start(state, ctx)
        if state.node is Node.ENROLLED:
            return state, [say(state, ctx, M.ENROLLED_IDLE)]
        return state, [say(state, ctx, M.INTRO)]
    return _on_answer(state, event, ctx)


def _on_answer(state: State, event: Text | Choice, ctx: Context) -> Step:
    answer = read_answer(state, event, ctx)
    if isinstance(answer, Expired):
        return _reprompt(state, ctx, M.EXPIRED)
    if answer is None:
        return _reprompt(state, ctx, M.NOT_UNDERSTOOD)
    return ANSWER_HANDLERS[state.node](state, answer, ctx)


def _reprompt(state: State, ctx: Context, key: M) -> Step:
    """A friendly word and the pending question again; nothing else changes."""
    state, again = reask(state, ctx)
    if not again and key is M.NOT_UNDERSTOOD:
        key = M.INTRO if state.node is Node.IDLE else M.ENROLLED_IDLE
    return state, [say(state, ctx, key), *again]
