"""From "my back hurts" to a plan: consent, red-flag checklist, soreness or injury, enrolment."""

from __future__ import annotations

from dataclasses import replace

from dialogs import articles, plan
from dialogs.actions import Action, RecordConsent, RecordPain, RecordTriage, Say
from dialogs.answers import Answer
from dialogs.context import Context
from dialogs.render import ask, emergency, say
from dialogs.schedule import local_date
from dialogs.states import Episode, Node, Score, State
from dialogs.texts import TIP_BY_LIFT, M

Step = tuple[State, list[Action]]


def start(state: State, ctx: Context) -> Step:
    """Entry: ask consent if it is missing or its text changed, else start the checklist."""
    if state.active_episode is not None:
        return plan.status(state, ctx)
    if state.profile.consent_version != ctx.content.consent.version:
        consent_text = Say(ctx.content.consent.text.get(state.profile.lang))
        state, question = ask(state, ctx, Node.CONSENT)
        return state, [consent_text, question]
    return _begin_checklist(state, ctx, [])


def on_consent(state: State, answer: Answer, ctx: Context) -> Step:
    if answer == "agree":
        version = ctx.content.consent.version
        state = replace(state, profile=replace(state.profile, consent_version=version))
        return _begin_checklist(state, ctx, [RecordConsent(version, True)])
    # Without consent nothing about their health is stored: general advice only.
    return state.at(Node.IDLE), [say(state, ctx, M.NO_CONSENT_ADVICE)]


def _begin_checklist(state: State, ctx: Context, actions: list[Action]) -> Step:
    seq = state.episodes_started + 1
    episode = Episode(seq=seq, started_at=ctx.now)
    state = replace(state, episode=episode, episodes_started=seq)
    intro = say(state, ctx, M.TRIAGE_INTRO)
    state, question = ask(state, ctx, Node.REDFLAG, 0)
    return state, [*actions, intro, question]


def on_redflag(state: State, answer: Answer, ctx: Context) -> Step:
    episode = state.episode
    assert episode is not None
    rules = ctx.content.rules
    rule = rules.rules[state.index]
    record = RecordTriage(episode.seq, rule.id, str(answer), rules.version)
    if answer == "no":
        if state.index + 1 < len(rules.rules):
            state, question = ask(state, ctx, Node.REDFLAG, state.index + 1)
            return state, [record, question]
        clear = say(state, ctx, M.REDFLAGS_CLEAR)
        state, question = ask(state, ctx, Node.ONSET)
        return state, [record, clear, question]
    flags = (*episode.flags, rule.id)
    if rule.tier == "emergency":
        state = state.with_episode(
            red_flag="emergency", flags=flags, status="closed", outcome="emergency"
        )
        return state.at(Node.IDLE), [emergency(state, ctx), record]
    # The 'stop' tier is the source's five signs that it may be an injury, not soreness.
    assessment = "injury" if rule.tier == "stop" else episode.assessment
    state = state.with_episode(red_flag=rule.tier, flags=flags, assessment=assessment)
    action = Say(rules.tiers[rule.tier].message.get(state.profile.lang))
    return _offer_plan(state, ctx, [record, action])


def on_onset(state: State, answer: Answer, ctx: Context) -> Step:
    return _soreness_answer(state, ctx, "onset", answer, Node.FEEL)


def on_feel(state: State, answer: Answer, ctx: Context) -> Step:
    return _soreness_answer(state, ctx, "feel", answer, Node.LIFT)


def _soreness_answer(state: State, ctx: Context, field: str, answer: Answer, then: Node) -> Step:
    assert state.episode is not None
    record = RecordTriage(state.episode.seq, field, str(answer), ctx.content.rules.version)
    state = state.with_episode(**{field: str(answer)})
    state, question = ask(state, ctx, then)
    return state, [record, question]


def on_lift(state: State, answer: Answer, ctx: Context) -> Step:
    """Soreness or injury, explained with the article's reasoning, then the plan offer."""
    assert state.episode is not None
    lift = str(answer)
    actions: list[Action] = [
        RecordTriage(state.episode.seq, "lift", lift, ctx.content.rules.version)
    ]
    episode = state.episode
    if episode.onset == "during" or episode.feel == "sharp":
        # Answers of a conversation begun under the content before these two signs were
        # left to the checklist alone: still the warning signs of the 'stop' tier.
        flags = (*episode.flags, "assessment_injury")
        state = state.with_episode(lift=lift, assessment="injury", red_flag="stop", flags=flags)
        explained = say(state, ctx, M.ASSESS_INJURY)
        actions.append(articles.with_link(explained, state, ctx, articles.SORENESS))
        return _offer_plan(state, ctx, actions)
    # The source's picture of soreness: 24-72 h after training, a dull ache and tightness.
    soreness = episode.onset == "later" and episode.feel == "dull"
    assessment = "soreness" if soreness else "unclear"
    state = state.with_episode(lift=lift, assessment=assessment)
    key = M.ASSESS_SORENESS if assessment == "soreness" else M.ASSESS_UNCLEAR
    explained = articles.with_link(say(state, ctx, key), state, ctx, articles.SORENESS)
    actions += [explained, say(state, ctx, TIP_BY_LIFT[lift])]
    return _offer_plan(state, ctx, actions)


def _offer_plan(state: State, ctx: Context, actions: list[Action]) -> Step:
    assert state.episode is not None
    if state.episode.red_flag is not None:
        actions.append(say(state, ctx, M.OFFER_PLAN_REDFLAG))
    state, question = ask(state, ctx, Node.OFFER_PLAN)
    return state, [*actions, question]


def on_offer_plan(state: State, answer: Answer, ctx: Context) -> Step:
    assert state.episode is not None
    if answer == "yes":
        state, question = ask(state, ctx, Node.BASELINE)
        return state, [question]
    advice = plan.advice(state, ctx, 0)
    state = state.with_episode(status="closed", outcome="declined_plan")
    return state.at(Node.IDLE), [advice, say(state, ctx, M.PLAN_DECLINED)]


def on_baseline(state: State, answer: Answer, ctx: Context) -> Step:
    assert state.episode is not None and isinstance(answer, int)
    record = RecordPain(state.episode.seq, 0, answer, None)
    state = state.with_episode(scores=(Score(0, answer),))
    state, question = ask(state, ctx, Node.HOUR)
    return state, [record, question]


def on_hour(state: State, answer: Answer, ctx: Context) -> Step:
    """Enrol: day 0 is today, check-ins on days 1–7 at the chosen hour."""
    assert state.episode is not None and isinstance(answer, int)
    state = replace(state, profile=replace(state.profile, hour=answer))
    start_date = local_date(ctx.now, state.profile.tz)
    state = state.with_episode(status="active", start_date=start_date)
    state = plan.schedule_after(state, ctx, 0)
    enrolled = say(state, ctx, M.ENROLLED, time=text_time(state, ctx), tz=state.profile.tz)
    return state.at(Node.ENROLLED), [enrolled, plan.advice(state, ctx, 0)]


def text_time(state: State, ctx: Context) -> str:
    return plan.next_checkin_text(state, ctx) or "–"
