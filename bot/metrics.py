"""Prometheus metrics: what the coach does, in numbers, never in words.

Counters are incremented where things happen; the outbox gauges are read from the
database by a small loop (a scrape must not wait on the database). Labels carry kinds
and platforms only, never an address or a text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select

from bot.clock import Clock
from bot.db.database import Database
from bot.db.models import CheckinSchedule, CheckinTrigger, OutboxRow

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry()
CONTENT_TYPE = CONTENT_TYPE_LATEST

UPDATES_IN = Counter(
    "backcoach_updates_in", "Messages and button presses received", ["platform"], registry=REGISTRY
)
MESSAGES_OUT = Counter(
    "backcoach_messages_out",
    "Messages delivered, by platform and kind (reply, checkin, digest, file)",
    ["platform", "kind"],
    registry=REGISTRY,
)
THROTTLED = Counter(
    "backcoach_throttled",
    "Sends refused by a platform's rate limit (429)",
    ["platform"],
    registry=REGISTRY,
)
RETRIES = Counter(
    "backcoach_send_retries", "Sends put back for another try", ["platform"], registry=REGISTRY
)
CHECKINS_SENT = Counter(
    "backcoach_checkins_started", "Daily check-ins started by the scheduler", registry=REGISTRY
)
ESCALATIONS = Counter(
    "backcoach_escalations", "Plans escalated to a physiotherapist or doctor", registry=REGISTRY
)
OUTBOX_DEPTH = Gauge(
    "backcoach_outbox_depth", "Messages waiting to be sent (due now)", registry=REGISTRY
)
OUTBOX_OLDEST = Gauge(
    "backcoach_outbox_oldest_seconds", "Age of the oldest due message", registry=REGISTRY
)
CHECKINS_DUE = Gauge(
    "backcoach_checkins_due", "Check-ins due now and not yet started", registry=REGISTRY
)


def platform_of(address: str) -> str:
    return address.split(":", 1)[0]


def kind_of(key: str, has_file: bool) -> str:
    """The kind of message, from its outbox key (``checkin:…``, ``digest:…``, ``r:…``)."""
    if has_file:
        return "file"
    head = key.split(":", 1)[0]
    return {"r": "reply", "checkin": "checkin", "digest": "digest"}.get(head, "other")


def exposition() -> bytes:
    return generate_latest(REGISTRY)


async def refresh(db: Database, now: datetime) -> None:
    """Read the outbox and schedule gauges once."""
    async with db.session() as session:
        depth, oldest = (
            await session.execute(
                select(func.count(), func.min(OutboxRow.not_before)).where(
                    OutboxRow.kind == "message",
                    OutboxRow.status == "pending",
                    OutboxRow.not_before <= now,
                )
            )
        ).one()
        # Due and not yet claimed, plus claimed and not yet run through the dialogs.
        unclaimed = await session.scalar(select(func.count()).where(CheckinSchedule.due_at <= now))
        claimed = await session.scalar(
            select(func.count()).where(CheckinTrigger.status == "pending")
        )
        due = (unclaimed or 0) + (claimed or 0)
    OUTBOX_DEPTH.set(int(depth))
    OUTBOX_OLDEST.set((now - oldest).total_seconds() if oldest is not None else 0.0)
    CHECKINS_DUE.set(int(due))


async def keep_fresh(db: Database, clock: Clock, every: float = 15.0) -> None:
    """The gauge loop, until cancelled; a failed read keeps the last values."""
    while True:
        with contextlib.suppress(Exception):
            await refresh(db, clock.now())
        await asyncio.sleep(every)
