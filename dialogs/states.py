"""Every state a conversation can be in, declared in one place, and the state data.

``Node`` names the flow's states; ``QUESTIONS`` says which of them ask something and
which answers they take. The content loader checks its texts against these
declarations, so a missing prompt or option label fails at start-up, not mid-chat.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from content.localized import Lang


class Node(StrEnum):
    IDLE = "idle"
    CONSENT = "consent"
    REDFLAG = "redflag"
    ONSET = "onset"
    FEEL = "feel"
    LIFT = "lift"
    OFFER_PLAN = "offer_plan"
    OFFER_SUMMARY = "offer_summary"
    BASELINE = "baseline"
    HOUR = "hour"
    ENROLLED = "enrolled"
    CHECKIN_PAIN = "checkin_pain"
    CHECKIN_TREND = "checkin_trend"
    CHECKIN_FLAG = "checkin_flag"
    CHECKIN_EMERGENCY = "checkin_emergency"
    SETTINGS = "settings"
    SETTINGS_HOUR = "settings_hour"
    SETTINGS_TZ = "settings_tz"
    LANGUAGE = "language"
    CONFIRM_STOP = "confirm_stop"
    CONFIRM_DELETE = "confirm_delete"
    CONFIRM_SUBSCRIBE = "confirm_subscribe"
    PRIVACY = "privacy"


AnswerKind = Literal["choice", "scale", "hour", "text"]


@dataclass(frozen=True)
class QuestionSpec:
    """How a node's question is answered; ``options`` are the stable option values."""

    kind: AnswerKind
    options: tuple[str, ...] = ()


YES_NO = ("yes", "no")
HOUR_OPTIONS = ("morning", "noon", "evening")

QUESTIONS: dict[Node, QuestionSpec] = {
    Node.CONSENT: QuestionSpec("choice", ("agree", "decline")),
    Node.REDFLAG: QuestionSpec("choice", YES_NO),  # the question text comes from the rules
    # After the checklist: "during training" and "sharp" were its questions already.
    Node.ONSET: QuestionSpec("choice", ("hours", "later", "unsure")),
    Node.FEEL: QuestionSpec("choice", ("dull", "other")),
    Node.LIFT: QuestionSpec("choice", ("deadlift", "squat", "row", "other")),
    Node.OFFER_PLAN: QuestionSpec("choice", YES_NO),
    Node.OFFER_SUMMARY: QuestionSpec("choice", YES_NO),
    Node.BASELINE: QuestionSpec("scale"),
    Node.HOUR: QuestionSpec("hour", HOUR_OPTIONS),
    Node.CHECKIN_PAIN: QuestionSpec("scale"),
    Node.CHECKIN_TREND: QuestionSpec("choice", ("better", "same", "worse")),
    Node.CHECKIN_FLAG: QuestionSpec("choice", YES_NO),
    Node.CHECKIN_EMERGENCY: QuestionSpec("choice", YES_NO),
    Node.SETTINGS: QuestionSpec("choice", ("hour", "timezone", "language", "done")),
    Node.SETTINGS_HOUR: QuestionSpec("hour", HOUR_OPTIONS),
    Node.SETTINGS_TZ: QuestionSpec("text"),
    Node.LANGUAGE: QuestionSpec("choice", ("de", "en")),
    Node.CONFIRM_STOP: QuestionSpec("choice", YES_NO),
    Node.CONFIRM_DELETE: QuestionSpec("choice", YES_NO),
    Node.CONFIRM_SUBSCRIBE: QuestionSpec("choice", YES_NO),
    Node.PRIVACY: QuestionSpec("choice", ("withdraw", "delete", "keep")),
}
# Nodes that wait for nothing in particular.
RESTING = frozenset({Node.IDLE, Node.ENROLLED})
# Side flows that return to where the person was when they finish.
SIDE_FLOWS = frozenset(
    {
        Node.SETTINGS,
        Node.SETTINGS_HOUR,
        Node.SETTINGS_TZ,
        Node.LANGUAGE,
        Node.CONFIRM_STOP,
        Node.CONFIRM_DELETE,
        Node.CONFIRM_SUBSCRIBE,
        Node.PRIVACY,
    }
)
assert set(QUESTIONS) | RESTING == set(Node), "every node asks something or rests"

Tier = Literal["emergency", "doctor", "stop"]
Assessment = Literal["soreness", "unclear", "injury"]
EpisodeStatus = Literal["triage", "active", "paused", "closed"]
Outcome = Literal["declined_plan", "emergency", "recovered", "completed", "escalated", "stopped"]
DigestStatus = Literal["off", "pending", "on"]
PLAN_DAYS = 7


@dataclass(frozen=True)
class Profile:
    """Who the person is to the bot: language, time zone, check-in hour, consent."""

    lang: Lang
    tz: str
    lang_chosen: bool = False
    hour: int | None = None
    consent_version: int | None = None
    digest: DigestStatus = "off"  # the biweekly articles digest (double opt-in)


@dataclass(frozen=True)
class Score:
    day: int
    score: int
    trend: str | None = None


@dataclass(frozen=True)
class Episode:
    """One bout of back pain: triage, assessment and the 7-day plan.

    Day 0 is the day of enrolment (its score is the baseline); check-ins run on
    days 1–7 at the person's hour in their time zone.
    """

    seq: int
    started_at: datetime
    status: EpisodeStatus = "triage"
    red_flag: Tier | None = None
    onset: str | None = None
    feel: str | None = None
    lift: str | None = None
    assessment: Assessment | None = None
    start_date: date | None = None
    scores: tuple[Score, ...] = ()
    escalated: bool = False
    outcome: Outcome | None = None
    flags: tuple[str, ...] = ()
    next_day: int | None = None
    next_at: datetime | None = None
    unanswered: int = 0
    pending_day: int | None = None
    draft_score: int | None = None
    draft_trend: str | None = None

    @property
    def baseline(self) -> int | None:
        return next((s.score for s in self.scores if s.day == 0), None)

    def score_on(self, day: int) -> Score | None:
        return next((s for s in self.scores if s.day == day), None)

    @property
    def no_exercise(self) -> bool:
        """A red flag or an escalation: daily messages remind to get checked instead."""
        return self.red_flag is not None or self.escalated


@dataclass(frozen=True)
class State:
    """A conversation: where it stands, who it is with, the current episode.

    ``turn`` grows with every question asked; a Choice must carry the current turn,
    so a button from an old message cannot answer a newer question.
    """

    profile: Profile
    node: Node = Node.IDLE
    index: int = 0
    turn: int = 0
    episode: Episode | None = None
    episodes_started: int = 0
    resume: tuple[Node, int] | None = None

    def at(self, node: Node, index: int = 0) -> State:
        return replace(self, node=node, index=index)

    def with_episode(self, **changes: object) -> State:
        assert self.episode is not None
        return replace(self, episode=replace(self.episode, **changes))  # type: ignore[arg-type]

    @property
    def has_consent(self) -> bool:
        return self.profile.consent_version is not None

    @property
    def active_episode(self) -> Episode | None:
        ep = self.episode
        return ep if ep is not None and ep.status in ("active", "paused") else None
