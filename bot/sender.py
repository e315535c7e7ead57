"""Delivers outbox messages through their transport, in order, obeying the platform.

Each row is claimed (status ``sending``) in its own transaction before the send and
settled after it, so a crash leaves at most the in-flight rows undecided; those are
marked ``unknown`` at start-up rather than resent blindly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.database import Database
from bot.db.models import EpisodeRow, OutboxRow, User
from bot.transport import Delivery, Outgoing, SendResult, Transport

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BATCH = 200


class Sender:
    def __init__(self, db: Database, transports: Mapping[str, Transport], clock: Clock) -> None:
        self.db, self.transports, self.clock = db, dict(transports), clock
        self.wakeup = asyncio.Event()

    def notify(self) -> None:
        self.wakeup.set()

    async def recover(self) -> int:
        """After a crash: rows caught mid-send may have arrived; don't send them again."""
        async with self.db.session() as session:
            result = await session.execute(
                update(OutboxRow)
                .where(OutboxRow.kind == "message", OutboxRow.status == "sending")
                .values(status="unknown", error="interrupted while sending")
            )
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            log.warning("%d messages were in flight at the last stop; marked unknown", count)
        return count

    async def flush(self) -> int:
        """Send everything due now; returns how many were delivered."""
        sent = 0
        while True:
            rows = await self._due()
            if not rows:
                return sent
            held: set[str] = set()  # an address that must wait keeps its later rows waiting
            progressed = False
            for row_id, address in rows:
                if address in held:
                    continue
                delivered = await self._send_one(row_id)
                if delivered is None:
                    continue
                progressed = True
                if delivered.delivery is Delivery.SENT:
                    sent += 1
                elif delivered.delivery in (Delivery.RETRY, Delivery.UNREACHABLE):
                    held.add(address)
            if not progressed or held:
                return sent

    async def run(self, poll_seconds: float = 1.0) -> None:
        """Deliver until cancelled; woken at once when a reply is queued."""
        while True:
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sender pass failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), poll_seconds)
            self.wakeup.clear()

    async def _due(self) -> list[tuple[int, str]]:
        async with self.db.session() as session:
            rows = await session.execute(
                select(OutboxRow.id, OutboxRow.address)
                .where(
                    OutboxRow.kind == "message",
                    OutboxRow.status == "pending",
                    OutboxRow.not_before <= self.clock.now(),
                )
                .order_by(OutboxRow.priority, OutboxRow.id)
                .limit(BATCH)
            )
            return [(row.id, row.address) for row in rows]

    async def _send_one(self, row_id: int) -> SendResult | None:
        async with self.db.session() as session:
            row = await session.get(
                OutboxRow, row_id, with_for_update=self.db.dialect == "postgresql"
            )
            if row is None or row.status != "pending":
                return None
            row.status, row.attempts = "sending", row.attempts + 1
            address, payload, key = row.address, dict(row.payload), row.key
        transport = self.transports.get(address.split(":", 1)[0])
        if transport is None:
            result = SendResult(Delivery.RETRY, retry_after=60, detail="transport not running")
        else:
            try:
                result = await transport.send(address, Outgoing.from_payload(payload, key))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a transport bug must not stop the queue
                log.exception("transport %s failed", transport.prefix)
                result = SendResult(Delivery.RETRY, retry_after=5, detail=type(exc).__name__)
        await self._settle(row_id, result)
        return result

    async def _settle(self, row_id: int, result: SendResult) -> None:
        now = self.clock.now()
        async with self.db.session() as session:
            row = await session.get(OutboxRow, row_id)
            if row is None:
                return
            if result.delivery is Delivery.SENT:
                if row.user_id is None:  # e.g. the goodbye after /delete: keep no trace
                    await session.delete(row)
                    return
                row.status, row.sent_at, row.error = "sent", now, None
            elif result.delivery is Delivery.RETRY and row.attempts < MAX_ATTEMPTS:
                row.status, row.error = "pending", result.detail[:200] or None
                backoff = max(result.retry_after, 2.0**row.attempts)
                row.not_before = now + timedelta(seconds=backoff)
            elif result.delivery is Delivery.UNREACHABLE:
                row.status, row.error = "failed", result.detail[:200] or "unreachable"
                await self._mark_unreachable(session, row)
            else:
                row.status = "unknown" if result.delivery is Delivery.UNKNOWN else "failed"
                row.error = result.detail[:200] or row.status

    async def _mark_unreachable(self, session: AsyncSession, row: OutboxRow) -> None:
        if row.user_id is None:
            return
        log.info("user %s unreachable; their scheduled messages stop", row.user_id)
        await session.execute(update(User).where(User.id == row.user_id).values(unreachable=True))
        await session.execute(
            update(EpisodeRow).where(EpisodeRow.user_id == row.user_id).values(next_checkin_at=None)
        )
        await session.execute(
            delete(OutboxRow).where(
                OutboxRow.user_id == row.user_id,
                OutboxRow.status == "pending",
                OutboxRow.id != row.id,
            )
        )
