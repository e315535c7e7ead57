"""/export and /delete of a person with a full history among 10,000 others:
target median < 100 ms each on SQLite and PostgreSQL.

The person has EPISODES complete plans (safety answers, eight scores, the messages of a
week each), article reads, two consents and the digest. Each round seeds them afresh
(untimed), then times one unit of work for the export (``export_user`` plus the JSON
and CSV bytes) and one for ``store.forget`` (commit included).

Run: ``.venv/bin/python -m benchmarks.export_delete [--no-postgres] [--users=N]``.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from benchmarks.databases import fresh
from bot import store
from bot.db.database import Database
from bot.db.models import (
    ArticleRead,
    ConsentRecord,
    Conversation,
    DigestSubscription,
    EpisodeRow,
    OutboxRow,
    PainScore,
    TriageAnswer,
    User,
)
from bot.export import export_user

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
ROUNDS, EPISODES, QUESTIONS, MESSAGES_PER_EPISODE, READS = 20, 6, 15, 45, 30
STATE = {
    "profile": {"lang": "en", "tz": "Europe/Berlin", "hour": 8, "consent_version": 1},
    "node": "idle",
    "turn": 400,
    "episodes_started": EPISODES,
    "episode": {
        "seq": EPISODES,
        "started_at": NOW.isoformat(),
        "status": "closed",
        "scores": [{"day": d, "score": 6 - d // 2, "trend": "better"} for d in range(8)],
    },
}


def history(user_id: int, episodes: int, messages: int, reads: int) -> dict[type, list[Any]]:
    """The rows of one person: ``episodes`` plans with answers, scores and messages."""
    rows: dict[type, list[Any]] = {
        User: [
            {
                "id": user_id,
                "address": f"console:{user_id}",
                "lang": "en",
                "tz": "Europe/Berlin",
                "checkin_hour": 8,
                "consent_version": 1,
                "unreachable": False,
                "created_at": NOW,
                "last_seen_at": NOW,
            }
        ],
        Conversation: [{"user_id": user_id, "state": STATE, "updated_at": NOW}],
        ConsentRecord: [
            {"user_id": user_id, "version": v, "given": True, "at": NOW} for v in (1, 2)
        ],
        DigestSubscription: [
            {"user_id": user_id, "status": "active", "asked_at": NOW, "confirmed_at": NOW}
        ],
        EpisodeRow: [],
        TriageAnswer: [],
        PainScore: [],
        OutboxRow: [],
        ArticleRead: [
            {
                "user_id": user_id,
                "slug": f"article-{n % 6}",
                "day": date(2026, 1, 1) + timedelta(days=n),
                "issue": None,
                "at": NOW,
            }
            for n in range(reads)
        ],
    }
    for seq in range(1, episodes + 1):
        started = NOW - timedelta(days=30 * (episodes - seq))
        rows[EpisodeRow].append(
            {"user_id": user_id, "seq": seq, "started_at": started, "status": "closed",
             "assessment": "soreness", "lift": "row", "start_date": started.date(),
             "escalated": False, "outcome": "completed", "closed_at": started}
        )  # fmt: skip
        rows[TriageAnswer] += [
            {"user_id": user_id, "episode_seq": seq, "question": f"rule_{q}", "answer": "no",
             "rules_version": 1, "at": started}
            for q in range(QUESTIONS)
        ]  # fmt: skip
        rows[PainScore] += [
            {"user_id": user_id, "episode_seq": seq, "day": d, "score": 6 - d // 2,
             "trend": "better" if d else None, "at": started + timedelta(days=d)}
            for d in range(8)
        ]  # fmt: skip
        rows[OutboxRow] += [
            {"key": f"m:{user_id}:{seq}:{m}", "user_id": user_id, "address": f"console:{user_id}",
             "kind": "message", "payload": {"text": "Day 3: keep moving. " * 8, "options": []},
             "priority": 1, "status": "sent", "not_before": started, "attempts": 1,
             "created_at": started, "sent_at": started}
            for m in range(messages)
        ]  # fmt: skip
    return rows


async def seed(db: Database, first: int, count: int, **size: int) -> None:
    """``count`` people from id ``first``, in chunks (a few thousand rows per statement)."""
    for start in range(first, first + count, 1000):
        batch: dict[type, list[Any]] = {}
        for user_id in range(start, min(start + 1000, first + count)):
            for model, rows in history(user_id, **size).items():
                batch.setdefault(model, []).extend(rows)
        async with db.session() as session:
            for model, rows in batch.items():  # dict order: users first
                if rows:
                    await session.execute(insert(model), rows)


async def measure(db: Database, others: int) -> tuple[float, float, int]:
    """Median ms of export and of forget, and the size of the JSON."""
    await seed(db, 1, others, episodes=1, messages=8, reads=1)
    export_times, forget_times, size = [], [], 0
    for n in range(ROUNDS):
        person = others + 1 + n
        await seed(db, person, 1, episodes=EPISODES, messages=MESSAGES_PER_EPISODE, reads=READS)
        started = time.perf_counter()
        async with db.session() as session:
            export = await export_user(session, person, now=NOW)
            data, table = export.json_bytes(), export.pain_csv_bytes()
        export_times.append(time.perf_counter() - started)
        assert len(export.pain_scores) == EPISODES * 8 and table.count(b"\n") == EPISODES * 8 + 1
        size = len(data)
        started = time.perf_counter()
        async with db.session() as session:
            await store.forget(session, person)
        forget_times.append(time.perf_counter() - started)
    return statistics.median(export_times) * 1000, statistics.median(forget_times) * 1000, size


async def run(others: int = 10_000, postgres: bool = True) -> None:
    for backend in ["sqlite"] + (["postgres"] if postgres else []):
        export_ms, forget_ms, size = await _fresh(backend, others)
        rows = EPISODES * (1 + QUESTIONS + 8 + MESSAGES_PER_EPISODE) + READS + 4
        for what, ms in (("export", export_ms), ("delete", forget_ms)):
            print(
                f"{what} of a full history ({rows} rows, JSON {size / 1000:.0f} kB) among "
                f"{others:,} users on {backend}: median {ms:.1f} ms of {ROUNDS} "
                f"(target < 100 ms: {'met' if ms < 100 else 'NOT met'})"
            )


async def _fresh(backend: str, others: int) -> tuple[float, float, int]:
    async with fresh(backend) as db:
        return await measure(db, others)


if __name__ == "__main__":
    users = int(next((a[8:] for a in sys.argv if a.startswith("--users=")), 10_000))
    asyncio.run(run(users, postgres="--no-postgres" not in sys.argv))
