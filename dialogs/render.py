"""Turning content into messages in the person's language, and asking questions."""

from __future__ import annotations

from dataclasses import replace

from dialogs.actions import Option, Say
from dialogs.context import Context
from dialogs.states import QUESTIONS, SIDE_FLOWS, Node, State
from dialogs.texts import M

SCALE = (0, 10)


def text(state: State, ctx: Context, key: M, **params: object) -> str:
    return ctx.content.text(key, state.profile.lang, **params)


def say(state: State, ctx: Context, key: M, **params: object) -> Say:
    return Say(text(state, ctx, key, **params))


def emergency(state: State, ctx: Context) -> Say:
    """The emergency message; always sent before anything else in its step."""
    return Say(text(state, ctx, M.EMERGENCY), urgent=True)


def ask(state: State, ctx: Context, node: Node, index: int = 0) -> tuple[State, Say]:
    """Move to ``node`` and put its question, under a new turn id."""
    resume = state.resume if node in SIDE_FLOWS else None
    state = replace(state, node=node, index=index, turn=state.turn + 1, resume=resume)
    lang = state.profile.lang
    spec = QUESTIONS[node]
    question = ctx.content.questions[node]
    params: dict[str, object] = {"tz": state.profile.tz}
    if node is Node.REDFLAG:
        rules = ctx.content.rules.rules
        params.update(n=index + 1, total=len(rules), question=rules[index].question.get(lang))
    if state.episode is not None and state.episode.pending_day is not None:
        params["day"] = state.episode.pending_day
    options = tuple(Option(v, question.options[v].get(lang)) for v in spec.options)
    return state, Say(
        question.prompt.format(lang, **params),
        question=str(state.turn),
        options=options,
        scale=SCALE if spec.kind == "scale" else None,
    )


def reask(state: State, ctx: Context) -> tuple[State, tuple[Say, ...]]:
    """Put the pending question again (as a fresh turn), or nothing when none is pending."""
    if state.node not in QUESTIONS:
        return state, ()
    state, question = ask(state, ctx, state.node, state.index)
    return state, (question,)


def hhmm(hour: int) -> str:
    return f"{hour:02d}:00"
