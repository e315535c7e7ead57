"""The 7-day plan: what to do on which day, when to escalate, when it ends."""

from __future__ import annotations

from dataclasses import replace

from dialogs.actions import Action, Say
from dialogs.context import Context
from dialogs.dates import moment_text
from dialogs.render import say
from dialogs.schedule import next_checkin, plan_day, zone
from dialogs.states import PLAN_DAYS, Node, Outcome, State
from dialogs.texts import ADVICE_BY_DAY, TIP_BY_LIFT, M

Step = tuple[State, list[Action]]
RETURN_PHASE_FROM = 4  # days 1–3 pause training; days 4–7 careful return


def improved_enough(baseline: int, score: int) -> bool:
    """A meaningful fall in pain: at least 2 points and 30 % from the first score.

    This is the usual threshold for a clinically important change on a 0–10 scale;
    pain of 0–1 counts as improved whatever the start.
    """
    return score <= 1 or (baseline - score >= 2 and score <= 0.7 * baseline)


def advice(state: State, ctx: Context, day: int) -> Say:
    """The advice of plan day ``day``; after a red flag or escalation, a reminder instead."""
    episode = state.episode
    if episode is not None and episode.no_exercise:
        return say(state, ctx, M.GET_CHECKED)
    key = ADVICE_BY_DAY[max(0, min(day, PLAN_DAYS))]
    body = say(state, ctx, key).text
    if day >= RETURN_PHASE_FROM and episode is not None and episode.lift is not None:
        body += "\n\n" + say(state, ctx, TIP_BY_LIFT[episode.lift]).text
    return Say(body)


def schedule_after(state: State, ctx: Context, after_day: int) -> State:
    """Set the next check-in (or the closing day) after ``after_day``."""
    assert state.episode is not None and state.profile.hour is not None
    found = next_checkin(state.episode, ctx.now, state.profile.tz, state.profile.hour, after_day)
    day, at = found if found is not None else (None, None)
    return state.with_episode(next_day=day, next_at=at)


def next_checkin_text(state: State, ctx: Context) -> str | None:
    episode = state.episode
    if episode is None or episode.next_at is None or episode.next_day is None:
        return None
    if episode.next_day > PLAN_DAYS:
        return None
    local = episode.next_at.astimezone(zone(state.profile.tz))
    return moment_text(local, state.profile.lang)


def close(state: State, outcome: Outcome) -> State:
    state = state.with_episode(
        status="closed", outcome=outcome, next_day=None, next_at=None, pending_day=None
    )
    return replace(state, node=Node.IDLE, index=0, resume=None)


def finish_outcome(state: State) -> Outcome:
    assert state.episode is not None
    return "escalated" if state.episode.escalated else "completed"


def status(state: State, ctx: Context) -> Step:
    """/plan: where the person stands and what today is about."""
    episode = state.active_episode
    if episode is None:
        return state, [say(state, ctx, M.NO_PLAN)]
    day = plan_day(episode, ctx.now, state.profile.tz)
    when = next_checkin_text(state, ctx) or "–"
    head = say(state, ctx, M.PLAN_STATUS, day=max(day, 0), days=PLAN_DAYS, time=when)
    return state, [head, advice(state, ctx, day)]
