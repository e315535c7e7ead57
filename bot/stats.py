"""``backcoach stats``: how the coach is used and how plans end, from SQL aggregates.

Every figure is a COUNT/AVG in the database, so the cost does not grow with memory.
Digest reads are not recorded yet, so they are left out rather than shown as zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.database import Database
from bot.db.models import (
    ArticleRead,
    CheckinTrigger,
    DigestSubscription,
    EpisodeRow,
    OutboxRow,
    PainScore,
    User,
)
from dialogs.states import PLAN_DAYS

OUTCOMES = ("soreness", "injury", "red_flag", "escalated", "recovered")


@dataclass(frozen=True)
class DayPain:
    day: int
    mean: float
    scores: int


@dataclass(frozen=True)
class Stats:
    """The operator's view. ``outcomes`` counts episodes (one may be in several):
    soreness and injury are the triage assessment, red_flag any tier answered 'yes'
    (including during check-ins), escalated a plan sent to a physio or doctor,
    recovered a plan ended early because the pain was gone."""

    users: int
    episodes: int
    active_episodes: int
    paused_episodes: int
    outcomes: dict[str, int]
    red_flags_by_tier: dict[str, int]
    closed_by_outcome: dict[str, int]
    checkins_sent: int
    checkins_answered: int
    response_rate: float | None
    mean_pain_by_day: list[DayPain]
    escalations_this_week: int
    article_reads: int = 0
    digest_subscribers: int = 0
    digest_reads: int = 0  # reads opened from a digest issue's buttons

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


async def collect(db: Database, now: datetime) -> Stats:
    async with db.session() as session:
        users = int((await session.execute(select(func.count()).select_from(User))).scalar_one())
        episodes = await _episode_counts(session, now)
        by_tier = await _grouped(session, EpisodeRow.red_flag)
        by_outcome = await _grouped(session, EpisodeRow.outcome)
        sent, answered = await _checkins(session)
        pain = await _pain_by_day(session)
        reads = await _count(session, select(func.count()).select_from(ArticleRead))
        from_digest = await _count(
            session, select(func.count()).where(ArticleRead.issue.is_not(None))
        )
        subscribers = await _count(
            session, select(func.count()).where(DigestSubscription.status == "active")
        )
    return Stats(
        users=users,
        episodes=episodes["episodes"],
        active_episodes=episodes["active"],
        paused_episodes=episodes["paused"],
        outcomes={name: episodes[name] for name in OUTCOMES},
        red_flags_by_tier=by_tier,
        closed_by_outcome=by_outcome,
        checkins_sent=sent,
        checkins_answered=answered,
        response_rate=round(answered / sent, 3) if sent else None,
        mean_pain_by_day=pain,
        escalations_this_week=episodes["escalations_this_week"],
        article_reads=reads,
        digest_subscribers=subscribers,
        digest_reads=from_digest,
    )


async def _count(session: AsyncSession, query: Any) -> int:
    return int((await session.execute(query)).scalar_one())


async def _episode_counts(session: AsyncSession, now: datetime) -> dict[str, int]:
    week_ago = now - timedelta(days=7)
    running = EpisodeRow.status.in_(("active", "paused"))
    conditions = {
        "active": EpisodeRow.status == "active",
        "paused": EpisodeRow.status == "paused",
        "soreness": EpisodeRow.assessment == "soreness",
        "injury": EpisodeRow.assessment == "injury",
        "red_flag": EpisodeRow.red_flag.is_not(None),
        "escalated": EpisodeRow.escalated.is_(True),
        "recovered": EpisodeRow.outcome == "recovered",
        "escalations_this_week": or_(
            EpisodeRow.escalated_at >= week_ago,
            # Escalated before 0008 recorded the time: escalation happens at a check-in
            # of days 1-7, so a plan that started at most 8 days before the week and did
            # not end before it may have escalated in the week (an upper bound).
            and_(
                EpisodeRow.escalated.is_(True),
                EpisodeRow.escalated_at.is_(None),
                EpisodeRow.started_at >= week_ago - timedelta(days=PLAN_DAYS + 1),
                or_(running, EpisodeRow.closed_at >= week_ago),
            ),
        ),
    }
    columns = [func.count().label("episodes")]
    columns += [func.count().filter(cond).label(name) for name, cond in conditions.items()]
    row = (await session.execute(select(*columns).select_from(EpisodeRow))).one()
    return {name: int(value) for name, value in row._mapping.items()}


async def _grouped(session: AsyncSession, column: Any) -> dict[str, int]:
    rows = await session.execute(
        select(column, func.count()).where(column.is_not(None)).group_by(column).order_by(column)
    )
    return {str(value): int(count) for value, count in rows.all()}


async def _checkins(session: AsyncSession) -> tuple[int, int]:
    """Scheduled check-ins of days 1–7 whose question was delivered, and how many got a score.

    A check-in trigger (episode, day) writes its messages under
    ``checkin:<episode>:<day>:<n>``; when the pain question was asked it is message 0,
    the one with a scale (a skipped day, reminder or closing message has none).
    """
    trigger = CheckinTrigger
    key = (
        literal("checkin:")
        + cast(trigger.episode_id, String)
        + literal(":")
        + cast(trigger.day, String)
        + literal(":0")
    )
    asked = and_(
        OutboxRow.key == key,
        OutboxRow.status == "sent",
        OutboxRow.payload["scale"].as_string().is_not(None),
    )
    scored = and_(
        PainScore.user_id == EpisodeRow.user_id,
        PainScore.episode_seq == EpisodeRow.seq,
        PainScore.day == trigger.day,
    )
    query = (
        select(func.count(), func.count(PainScore.id))
        .select_from(trigger)
        .join(EpisodeRow, EpisodeRow.id == trigger.episode_id)
        .join(OutboxRow, asked)
        .outerjoin(PainScore, scored)
        .where(trigger.day.between(1, PLAN_DAYS))
    )
    sent, answered = (await session.execute(query)).one()
    return int(sent), int(answered)


async def _pain_by_day(session: AsyncSession) -> list[DayPain]:
    rows = await session.execute(
        select(PainScore.day, func.avg(PainScore.score), func.count())
        .group_by(PainScore.day)
        .order_by(PainScore.day)
    )
    return [DayPain(int(d), round(float(mean), 2), int(n)) for d, mean, n in rows.all()]


def stats_table(stats: Stats) -> str:
    """The stats as aligned plain text for the terminal."""
    rate = f"{stats.response_rate:.0%}" if stats.response_rate is not None else "–"
    rows: list[tuple[str, object]] = [
        ("users", stats.users),
        ("episodes", stats.episodes),
        ("  active plans", stats.active_episodes),
        ("  paused plans", stats.paused_episodes),
        *((f"  {name.replace('_', ' ')}", n) for name, n in stats.outcomes.items()),
        *((f"  red flag: {tier}", n) for tier, n in stats.red_flags_by_tier.items()),
        *((f"  closed: {outcome}", n) for outcome, n in stats.closed_by_outcome.items()),
        ("escalations this week", stats.escalations_this_week),
        ("check-ins sent (days 1–7)", stats.checkins_sent),
        ("check-ins answered", stats.checkins_answered),
        ("response rate", rate),
        ("article reads", stats.article_reads),
        ("digest subscribers", stats.digest_subscribers),
        ("reads from the digest", stats.digest_reads),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    lines += ["", "mean pain by plan day (0 = baseline)"]
    lines += [f"  day {p.day}: {p.mean:4.1f}  (n={p.scores})" for p in stats.mean_pain_by_day]
    if not stats.mean_pain_by_day:
        lines.append("  no scores yet")
    return "\n".join(lines) + "\n"
