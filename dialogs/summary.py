"""A short, plain summary of an episode for the physiotherapist or doctor."""

from __future__ import annotations

from datetime import timedelta

from dialogs.context import Context
from dialogs.dates import day_text
from dialogs.render import text
from dialogs.schedule import local_date
from dialogs.states import State
from dialogs.texts import M


def summary(state: State, ctx: Context) -> str:
    """Self-reported facts only: start, triage answers, pain by day, what was advised."""
    episode = state.episode
    if episode is None:
        return text(state, ctx, M.NO_SUMMARY)
    lang = state.profile.lang
    questions = ctx.content.questions
    rules = {rule.id: rule.question.get(lang) for rule in ctx.content.rules.rules}
    start = episode.start_date or local_date(episode.started_at, state.profile.tz)
    flags = [rules.get(flag) or _flag_text(flag, state, ctx) for flag in episode.flags]
    answers = [
        questions[field].label(value, lang)
        for field, value in (
            ("onset", episode.onset),
            ("feel", episode.feel),
            ("lift", episode.lift),
        )
        if value is not None
    ]
    scores = [
        f"{day_text(start + timedelta(days=s.day), lang)}: {s.score}/10"
        + (f" ({questions['checkin_trend'].options[s.trend].get(lang)})" if s.trend else "")
        for s in episode.scores
    ]
    return text(
        state,
        ctx,
        M.SUMMARY,
        start=day_text(start, lang),
        answers="; ".join(answers) or "–",
        flags="\n".join(f"- {flag}" for flag in flags) or "–",
        scores="\n".join(f"- {line}" for line in scores) or "–",
        escalated=text(state, ctx, M.GET_CHECKED) if episode.no_exercise else "–",
    )


def _flag_text(flag: str, state: State, ctx: Context) -> str:
    """Flags that are not checklist rules, in words: the assessment and check-in signs."""
    if flag == "assessment_injury":
        return text(state, ctx, M.FLAG_INJURY_SIGNS)
    kind, _, day = flag.rpartition("_day")
    if day.isdigit() and kind == "checkin_flag":
        return text(state, ctx, M.FLAG_CHECKIN, day=int(day))
    if day.isdigit() and kind == "checkin_emergency":
        return text(state, ctx, M.FLAG_CHECKIN_EMERGENCY, day=int(day))
    return flag
