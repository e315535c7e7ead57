"""The daily check-in: pain, trend, one quick red-flag question, then the day's advice."""

from __future__ import annotations

from dataclasses import replace

from dialogs import articles, digest, plan
from dialogs.actions import Action, RecordPain, RecordTriage, Say, SendFile
from dialogs.answers import Answer
from dialogs.context import Context
from dialogs.events import CheckinDue
from dialogs.render import ask, emergency, say
from dialogs.schedule import CLOSING_DAY, local_date, plan_day
from dialogs.states import PLAN_DAYS, Node, Score, State
from dialogs.summary import summary
from dialogs.texts import M

Step = tuple[State, list[Action]]
REMIND_AFTER_UNANSWERED = 2


def due(state: State, event: CheckinDue, ctx: Context) -> Step:
    """The scheduler's check-in for ``event.day``: ask, skip, remind or close."""
    episode = state.episode
    if episode is None or episode.seq != event.episode or episode.status != "active":
        return state, []  # stopped, deleted, paused or superseded: nothing to say
    if event.day >= CLOSING_DAY:
        state = plan.close(state, plan.finish_outcome(state))
        return state, [say(state, ctx, M.PLAN_ENDED)]
    tz = state.profile.tz
    if local_date(ctx.now, tz) > local_date(event.due_at, tz):
        # Missed while the bot was down and its day is over: skip it, never burst.
        return plan.schedule_after(state, ctx, event.day), []
    if episode.score_on(event.day) is not None:
        return plan.schedule_after(state, ctx, event.day), []
    if episode.unanswered >= REMIND_AFTER_UNANSWERED:
        state = state.with_episode(status="paused", next_day=None, next_at=None, pending_day=None)
        return state.at(Node.ENROLLED), [say(state, ctx, M.GENTLE_REMINDER)]
    return begin(state, ctx, event.day, counted=True)


def begin(state: State, ctx: Context, day: int, *, counted: bool) -> Step:
    """Open the check-in of ``day``; ``counted`` ones add to the unanswered streak."""
    assert state.episode is not None
    unanswered = state.episode.unanswered + (1 if counted else 0)
    state = state.with_episode(
        pending_day=day, unanswered=unanswered, draft_score=None, draft_trend=None
    )
    state = plan.schedule_after(state, ctx, day)
    state, question = ask(state, ctx, Node.CHECKIN_PAIN)
    return state, [question]


def wake(state: State, ctx: Context) -> Step:
    """The person writes again after the gentle reminder: resume where the plan is today."""
    state = state.with_episode(status="active", unanswered=0)
    episode = state.episode
    assert episode is not None
    day = plan_day(episode, ctx.now, state.profile.tz)
    welcome = say(state, ctx, M.WELCOME_BACK)
    if day > PLAN_DAYS:
        state = plan.close(state, plan.finish_outcome(state))
        return state, [welcome, say(state, ctx, M.PLAN_ENDED)]
    if day >= 1 and episode.score_on(day) is None:
        state, actions = begin(state, ctx, day, counted=False)
        return state, [welcome, *actions]
    return plan.schedule_after(state, ctx, max(day, 0)), [welcome]


def on_pain(state: State, answer: Answer, ctx: Context) -> Step:
    assert isinstance(answer, int)
    state = state.with_episode(draft_score=answer)
    state, question = ask(state, ctx, Node.CHECKIN_TREND)
    return state, [question]


def on_trend(state: State, answer: Answer, ctx: Context) -> Step:
    state = state.with_episode(draft_trend=str(answer))
    state, question = ask(state, ctx, Node.CHECKIN_FLAG)
    return state, [question]


def on_flag(state: State, answer: Answer, ctx: Context) -> Step:
    if answer == "yes":
        state, question = ask(state, ctx, Node.CHECKIN_EMERGENCY)
        return state, [question]
    return _finish(state, ctx, new_flag=False)


def on_emergency(state: State, answer: Answer, ctx: Context) -> Step:
    assert state.episode is not None and state.episode.pending_day is not None
    seq, day = state.episode.seq, state.episode.pending_day
    version = ctx.content.rules.version
    if answer == "yes":
        state = state.with_episode(
            red_flag="emergency", flags=(*state.episode.flags, f"checkin_emergency_day{day}")
        )
        first = emergency(state, ctx)
        record = RecordTriage(seq, f"checkin_emergency_day{day}", "yes", version)
        state, actions = _record_score(state)
        return plan.close(state, "emergency"), [first, record, *actions]
    record = RecordTriage(seq, f"checkin_flag_day{day}", "yes", version)
    state, actions = _finish(state, ctx, new_flag=True)
    return state, [record, *actions]


def _record_score(state: State) -> tuple[State, list[Action]]:
    episode = state.episode
    assert episode is not None and episode.pending_day is not None
    assert episode.draft_score is not None
    score = Score(episode.pending_day, episode.draft_score, episode.draft_trend)
    state = state.with_episode(
        scores=(*episode.scores, score),
        unanswered=0,
        pending_day=None,
        draft_score=None,
        draft_trend=None,
    )
    return state, [RecordPain(episode.seq, score.day, score.score, score.trend)]


def _finish(state: State, ctx: Context, *, new_flag: bool) -> Step:
    """Record the score, then: recovered, escalate, or the advice of the day."""
    assert state.episode is not None and state.episode.pending_day is not None
    day = state.episode.pending_day
    state, actions = _record_score(state)
    episode = state.episode
    assert episode is not None
    score = episode.scores[-1].score
    yesterday = episode.score_on(day - 1)
    baseline = episode.baseline if episode.baseline is not None else score
    if new_flag:
        flags = (*episode.flags, f"checkin_flag_day{day}")
        state = state.with_episode(escalated=True, red_flag=episode.red_flag or "stop", flags=flags)
        actions.append(say(state, ctx, M.ESCALATE_REDFLAG))
        return _after_escalation(state, ctx, day, actions)
    if score <= 1 and yesterday is not None and yesterday.score <= 1:
        actions.append(say(state, ctx, M.RECOVERED))
        if not episode.no_exercise:
            actions.append(_prevention(state, ctx))
        return plan.close(state, "recovered"), _offer_digest(actions, state, ctx)
    if (
        day >= plan.RETURN_PHASE_FROM
        and not episode.escalated
        and not plan.improved_enough(baseline, score)
    ):
        state = state.with_episode(escalated=True)
        actions.append(say(state, ctx, M.ESCALATE_NO_PROGRESS, first=baseline, now=score))
        return _after_escalation(state, ctx, day, actions)
    actions.append(plan.advice(state, ctx, day))
    return _end_of_checkin(state, ctx, day, actions)


def _prevention(state: State, ctx: Context) -> Say:
    """The prevention tips, with the long-run article one tap away."""
    return articles.with_link(say(state, ctx, M.PREVENTION), state, ctx, articles.PREVENTION)


def _offer_digest(actions: list[Action], state: State, ctx: Context) -> list[Action]:
    """The last message of an episode offers the biweekly digest."""
    last = actions[-1] if actions else None
    if isinstance(last, Say) and last.question is None:
        actions[-1] = digest.offer(last, state, ctx)
    return actions


def _after_escalation(state: State, ctx: Context, day: int, actions: list[Action]) -> Step:
    """Offer the summary for the physio or doctor; the plan goes on without exercises."""
    if day >= PLAN_DAYS:
        state = plan.close(state, "escalated")
        actions.append(say(state, ctx, M.PLAN_COMPLETE))
    state, question = ask(state, ctx, Node.OFFER_SUMMARY)
    return state, [*actions, question]


def _end_of_checkin(state: State, ctx: Context, day: int, actions: list[Action]) -> Step:
    assert state.episode is not None
    if day >= PLAN_DAYS:
        no_exercise = state.episode.no_exercise
        state = plan.close(state, plan.finish_outcome(state))
        actions.append(say(state, ctx, M.PLAN_COMPLETE))
        if not no_exercise:
            actions.append(_prevention(state, ctx))
        return state, _offer_digest(actions, state, ctx)
    when = plan.next_checkin_text(state, ctx)
    if when is not None:
        actions.append(say(state, ctx, M.NEXT_CHECKIN, time=when))
    return replace(state, node=Node.ENROLLED, index=0), actions


def summary_answer(state: State, answer: Answer, ctx: Context) -> Step:
    node = Node.ENROLLED if state.active_episode is not None else Node.IDLE
    if answer == "yes":
        return state.at(node), [Say(summary(state, ctx)), SendFile("summary")]
    return state.at(node), [say(state, ctx, M.SUMMARY_LATER)]
