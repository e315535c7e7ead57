"""Commands that work anywhere: /help, /plan, /checkin, /stop, /settings, /language, /delete."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from content.localized import Lang
from dialogs import articles, checkin, digest, plan, triage
from dialogs.actions import Action, ForgetUser, RecordConsent, Say, SendFile
from dialogs.answers import Answer
from dialogs.context import Context
from dialogs.events import Command
from dialogs.render import ask, reask, say
from dialogs.schedule import plan_day, resolve_timezone
from dialogs.states import PLAN_DAYS, QUESTIONS, SIDE_FLOWS, Node, Profile, State
from dialogs.summary import summary
from dialogs.texts import M

Step = tuple[State, list[Action]]


def handle(state: State, command: Command, ctx: Context) -> Step:
    if command.name == "read":
        return _then_reask(state, ctx, articles.read(state, ctx, command.arg))
    if command.name == "start" and command.arg.strip().lower() == "digest":
        return digest.subscribe(state, ctx)  # the deep link t.me/<bot>?start=digest
    handler = COMMANDS.get(command.name)
    if handler is None:
        return _then_reask(state, ctx, [say(state, ctx, M.UNKNOWN_COMMAND, command=command.name)])
    return handler(state, ctx)


def _then_reask(state: State, ctx: Context, actions: list[Action]) -> Step:
    state, again = reask(state, ctx)
    return state, [*actions, *again]


def _start(state: State, ctx: Context) -> Step:
    if state.node in RESTING_OR_SIDE:
        return triage.start(
            replace(
                state,
                node=Node.IDLE if state.active_episode is None else Node.ENROLLED,
                resume=None,
            ),
            ctx,
        )
    return _then_reask(state, ctx, [say(state, ctx, M.CONTINUE)])


def _articles(state: State, ctx: Context) -> Step:
    return _then_reask(state, ctx, articles.listing(state, ctx))


def _help(state: State, ctx: Context) -> Step:
    return _then_reask(state, ctx, [say(state, ctx, M.HELP)])


def _plan(state: State, ctx: Context) -> Step:
    state, actions = plan.status(state, ctx)
    return _then_reask(state, ctx, actions)


def _checkin(state: State, ctx: Context) -> Step:
    episode = state.active_episode
    if episode is None:
        return _then_reask(state, ctx, [say(state, ctx, M.NO_PLAN)])
    if episode.status == "paused":
        return checkin.wake(state, ctx)
    day = plan_day(episode, ctx.now, state.profile.tz)
    if day < 1:
        when = plan.next_checkin_text(state, ctx) or "–"
        return state, [say(state, ctx, M.CHECKIN_TOO_EARLY, time=when)]
    if day > PLAN_DAYS:
        state = plan.close(state, plan.finish_outcome(state))
        return state, [say(state, ctx, M.PLAN_ENDED)]
    if episode.score_on(day) is not None:
        when = plan.next_checkin_text(state, ctx) or "–"
        return _then_reask(state, ctx, [say(state, ctx, M.CHECKIN_DONE_TODAY, time=when)])
    return checkin.begin(state, ctx, day, counted=False)


def _summary(state: State, ctx: Context) -> Step:
    if state.episode is None or (not state.episode.scores and not state.episode.flags):
        return _then_reask(state, ctx, [say(state, ctx, M.NO_SUMMARY)])
    return _then_reask(state, ctx, [Say(summary(state, ctx)), SendFile("summary")])


def _export(state: State, ctx: Context) -> Step:
    return _then_reask(state, ctx, [say(state, ctx, M.EXPORT_READY), SendFile("export")])


def _progress(state: State, ctx: Context) -> Step:
    if state.episode is None or not state.episode.scores:
        return _then_reask(state, ctx, [say(state, ctx, M.NO_SUMMARY)])
    return _then_reask(state, ctx, [SendFile("progress")])


def on_privacy(state: State, answer: Answer, ctx: Context) -> Step:
    """Withdraw consent (the plan stops; deletion is offered next), delete, or keep."""
    if answer == "keep":
        return leave_side_flow(state, ctx, [say(state, ctx, M.KEPT)])
    actions: list[Action] = []
    if answer == "withdraw":
        if state.profile.consent_version is not None:
            actions.append(RecordConsent(state.profile.consent_version, False))
        if state.episode is not None and state.episode.status != "closed":
            state = plan.close(state, "stopped")  # a triage half done ends too
        profile = replace(state.profile, consent_version=None)
        state = replace(state, profile=profile, resume=None)  # afterwards: back to rest
        actions.append(say(state, ctx, M.CONSENT_WITHDRAWN))
    state, question = ask(state, ctx, Node.CONFIRM_DELETE)
    return state, [*actions, question]


def _side_flow(node: Node, needs_plan: bool = False) -> Callable[[State, Context], Step]:
    def enter(state: State, ctx: Context) -> Step:
        if needs_plan and state.active_episode is None:
            return _then_reask(state, ctx, [say(state, ctx, M.NO_PLAN)])
        if state.node not in SIDE_FLOWS:
            state = replace(state, resume=(state.node, state.index))
        state, question = ask(state, ctx, node)
        return state, [question]

    return enter


def leave_side_flow(state: State, ctx: Context, actions: list[Action]) -> Step:
    """Back to where the person was before /settings, /stop or /delete."""
    node, index = state.resume or (Node.IDLE, 0)
    if node is Node.ENROLLED and state.active_episode is None:
        node = Node.IDLE
    state = replace(state, node=node, index=index, resume=None)
    if node in QUESTIONS:
        state, question = ask(state, ctx, node, index)
        return state, [*actions, question]
    return state, actions


def on_settings(state: State, answer: Answer, ctx: Context) -> Step:
    target = {"hour": Node.SETTINGS_HOUR, "timezone": Node.SETTINGS_TZ, "language": Node.LANGUAGE}
    if answer in target:
        state, question = ask(state, ctx, target[str(answer)])
        return state, [question]
    return leave_side_flow(state, ctx, [])


def on_settings_hour(state: State, answer: Answer, ctx: Context) -> Step:
    assert isinstance(answer, int)
    return _saved(state, ctx, replace(state.profile, hour=answer))


def on_settings_tz(state: State, answer: Answer, ctx: Context) -> Step:
    tz = resolve_timezone(str(answer))
    if tz is None:
        state, question = ask(state, ctx, Node.SETTINGS_TZ)
        return state, [say(state, ctx, M.BAD_TIMEZONE), question]
    return _saved(state, ctx, replace(state.profile, tz=tz))


def _saved(state: State, ctx: Context, profile: Profile) -> Step:
    state = replace(state, profile=profile)
    episode = state.active_episode
    if episode is not None and episode.status == "active" and profile.hour is not None:
        after = max(plan_day(episode, ctx.now, profile.tz), 0)
        last_scored = max((s.day for s in episode.scores), default=0)
        state = plan.schedule_after(state, ctx, max(after - 1, last_scored))
    when = plan.next_checkin_text(state, ctx) or "–"
    saved = say(state, ctx, M.SETTINGS_SAVED, time=when, tz=profile.tz)
    state, question = ask(state, ctx, Node.SETTINGS)
    return state, [saved, question]


def on_language(state: State, answer: Answer, ctx: Context) -> Step:
    lang: Lang = "de" if answer == "de" else "en"
    state = replace(state, profile=replace(state.profile, lang=lang, lang_chosen=True))
    return leave_side_flow(state, ctx, [say(state, ctx, M.LANGUAGE_SET)])


def _unsubscribe(state: State, ctx: Context) -> Step:
    state, actions = digest.unsubscribe(state, ctx)
    return _then_reask(state, ctx, actions)


def on_confirm_subscribe(state: State, answer: Answer, ctx: Context) -> Step:
    state, actions = digest.confirmed(state, answer == "yes", ctx)
    return leave_side_flow(state, ctx, actions)


def on_confirm_stop(state: State, answer: Answer, ctx: Context) -> Step:
    if answer == "yes" and state.active_episode is not None:
        state = plan.close(state, "stopped")
        return state, [say(state, ctx, M.STOPPED)]
    return leave_side_flow(state, ctx, [say(state, ctx, M.KEPT)])


def on_confirm_delete(state: State, answer: Answer, ctx: Context) -> Step:
    if answer == "yes":
        fresh = State(profile=Profile(lang=state.profile.lang, tz=ctx.default_tz))
        return fresh, [ForgetUser(), say(fresh, ctx, M.DELETED)]
    return leave_side_flow(state, ctx, [say(state, ctx, M.KEPT)])


RESTING_OR_SIDE = SIDE_FLOWS | {Node.IDLE, Node.ENROLLED}
COMMANDS: dict[str, Callable[[State, Context], Step]] = {
    "start": _start,
    "pain": _start,
    "help": _help,
    "plan": _plan,
    "checkin": _checkin,
    "summary": _summary,
    "articles": _articles,
    "stats": _help,  # for operators only; the shell answers theirs before the dialog
    "export": _export,
    "progress": _progress,
    "privacy": _side_flow(Node.PRIVACY),
    "subscribe": digest.subscribe,
    "unsubscribe": _unsubscribe,
    "stop": _side_flow(Node.CONFIRM_STOP, needs_plan=True),
    "settings": _side_flow(Node.SETTINGS),
    "language": _side_flow(Node.LANGUAGE),
    "delete": _side_flow(Node.CONFIRM_DELETE),
}
