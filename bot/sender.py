"""Delivers outbox messages through their transport, in order, within the platform's limits.

Rows are claimed (status ``sending``) in a transaction before the send and settled after
it, so a crash leaves at most the in-flight rows undecided; those are marked ``unknown``
at start-up rather than resent blindly. Per address, one message is in flight at a time
and later ones wait, so a conversation keeps its order; across addresses, sends run
concurrently up to ``concurrency``. Each pass re-reads the queue in priority order, so a
reply to someone who just wrote overtakes a long digest run.

Several workers on one PostgreSQL share the outbox through leases: see ``bot.leases``.

SQLite is one process: no leases (both columns stay empty), and ``recover()`` at
start-up settles every ``sending`` row as described above.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import metrics, store
from bot.clock import Clock
from bot.db.database import Database
from bot.db.models import CheckinSchedule, DigestSubscription, EpisodeRow, OutboxRow, User
from bot.leases import CLAIM, LEASE_SECONDS, default_worker_id, expired
from bot.logs import CONVERSATION
from bot.ratelimit import RateLimit
from bot.transport import Delivery, Outgoing, SendResult, Transport
from dialogs.actions import Say

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BATCH = 500
NOT_RUNNING = SendResult(Delivery.RETRY, retry_after=60, detail="transport not running")
LOST_WAIT = 0.05  # every row tried was claimed by another worker: look again this soon
# Longer than any transport's own timeouts (a Matrix upload gives up after 40 s): a send
# still running then is stuck, and its lease runs out for another worker to take over.
MAX_SEND = 600.0


@dataclass(frozen=True)
class _Row:
    id: int
    user_id: int | None
    address: str
    key: str
    payload: dict[str, Any]


class Sender:
    def __init__(
        self,
        db: Database,
        transports: Mapping[str, Transport],
        clock: Clock,
        *,
        limits: Mapping[str, RateLimit] | None = None,
        concurrency: int = 32,
        lease: float = LEASE_SECONDS,
        worker_id: str | None = None,
    ) -> None:
        """``lease`` and ``worker_id`` matter on PostgreSQL only (see the module's doc)."""
        self.db, self.transports, self.clock = db, dict(transports), clock
        self.limits = dict(limits or {})
        self.wakeup = asyncio.Event()
        self.sent = 0  # delivered since start, for tests and benchmarks
        self.taken_over = 0  # rows claimed from an expired lease (possible duplicates)
        self.worker_id = (worker_id or default_worker_id())[:64]
        self.lease = timedelta(seconds=lease)
        self._leases = db.dialect == "postgresql"
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._flying: dict[str, int] = {}  # address → id of the row in flight
        self._held: dict[str, datetime] = {}  # address → retry time of its first message
        # The due rows as last read, in priority order. Re-read when something new was
        # queued, when used up, or after a second; not on every send, which at hundreds
        # of messages a second would cost more than the sending.
        self._queue: list[_Row] = []
        self._delivered: list[_Row] = []  # sent, to be recorded by the next pass in one go
        self._queued_new = True
        self._read_at = 0.0
        # Leases of sends in flight are renewed while the send runs (a slow upload keeps
        # its row), up to ``MAX_SEND`` after the claim: a send hung past that is let go.
        self._renew_every = lease / 3
        self._renewed_at = time.monotonic()
        self._claimed_at: dict[int, float] = {}  # row id → when claimed (monotonic)

    def notify(self) -> None:
        """Something was put in the outbox: read the queue again, from the top."""
        self._queued_new = True
        self.wakeup.set()

    async def recover(self) -> int:
        """After a crash: rows caught mid-send may have arrived; don't send them again,
        unless the platform makes a repeated send harmless (Matrix transaction ids)."""
        interrupted: tuple[Any, ...] = (OutboxRow.kind == "message", OutboxRow.status == "sending")
        if self._leases:  # not the rows other workers hold (see the module's doc)
            interrupted += (
                or_(OutboxRow.leased_by.is_(None), OutboxRow.leased_by == self.worker_id),
            )
        released = {"lease_until": None, "leased_by": None}
        async with self.db.session() as session:
            for prefix, transport in self.transports.items():
                if getattr(transport, "idempotent", False):
                    await session.execute(
                        update(OutboxRow)
                        .where(*interrupted, OutboxRow.address.startswith(f"{prefix}:"))
                        .values(status="pending", **released)
                    )
            result = await session.execute(
                update(OutboxRow)
                .where(*interrupted)
                .values(status="unknown", error="interrupted while sending", **released)
            )
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            log.warning("%d messages were in flight at the last stop; marked unknown", count)
        return count

    async def flush(self) -> int:
        """Send everything due now, waiting out rate limits; returns how many were delivered.

        Messages put back for later (a retry after a failure) are not waited for.
        """
        before = self.sent
        while True:
            dispatched, wait = await self._pass()
            if dispatched:
                continue
            if self._in_flight:
                await asyncio.wait(
                    set(self._in_flight.values()),
                    timeout=self._renew_every if self._leases else None,
                    return_when="FIRST_COMPLETED",
                )
            elif wait is not None:
                await asyncio.sleep(wait)
            else:
                await self._record_sent()
                return self.sent - before

    async def run(self, poll_seconds: float = 1.0) -> None:
        """Deliver until cancelled; woken at once when a reply is queued."""
        try:
            while True:
                wait: float | None = None
                try:
                    dispatched, wait = await self._pass()
                    if dispatched:
                        continue
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("sender pass failed; trying again")
                # A finished send sets ``wakeup`` too: its address's next message may go.
                timeout = poll_seconds if wait is None else min(wait, poll_seconds)
                if self._leases and self._in_flight:
                    timeout = min(timeout, self._renew_every)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), timeout)
        finally:
            await self.drain()

    async def drain(self, timeout: float = 30.0) -> None:
        """Let the sends in flight finish and settle (on shutdown), for ``timeout`` at most:
        a send still hanging then stays ``sending`` and becomes ``unknown`` at start-up
        (SQLite), or its lease is released for another worker to take over (PostgreSQL)."""
        if self._in_flight:
            flying = dict(self._flying)
            by_task = {task: address for address, task in self._in_flight.items()}
            _, hanging = await asyncio.wait(set(by_task), timeout=timeout)
            for task in hanging:
                task.cancel()
            if hanging:
                await asyncio.wait(hanging)
            if self._leases and hanging:
                await self._release([flying[by_task[t]] for t in hanging if by_task[t] in flying])
        await self._record_sent()

    async def _release(self, ids: list[int]) -> None:
        """Expire this worker's leases on ``ids`` now: the next claimer takes them over."""
        await self._set_leases(ids, func.now() - timedelta(seconds=1))
        log.warning("released %d leases of sends cut off by the shutdown", len(ids))

    async def _pass(self) -> tuple[int, float | None]:
        """Start the sends that may go now; how many started, and when to look again."""
        self.wakeup.clear()
        await self._renew()
        # With leases, claim (and record) in batches, not a row per finished send: each is a
        # round trip to the database, the workers' main cost after the sending itself.
        batching = self._leases and self._in_flight and not self._queued_new
        if batching and self._concurrency - len(self._in_flight) < self._concurrency // 4:
            return 0, None
        await self._record_sent()
        now = self.clock.now()
        if self._queued_new or not self._queue or time.monotonic() - self._read_at > 1.0:
            self._queued_new, self._read_at = False, time.monotonic()
            self._queue = await self._due(now)
        go: list[_Row] = []
        wait: float | None = None
        seen: set[str] = set()
        # With leases, claim no more than can be sent at once: a claimed row waiting for
        # a slot would use up its lease.
        free = self._concurrency - len(self._in_flight) if self._leases else len(self._queue)
        for row in self._queue:
            if self._queued_new or len(go) >= free:
                break  # e.g. a reply was queued: look again from the top of the queue
            address = row.address
            if address in seen or address in self._in_flight:
                seen.add(address)
                continue
            seen.add(address)
            held = self._held.get(address)
            if held is not None and held > now:
                continue
            self._held.pop(address, None)
            limit = self.limits.get(_prefix(address))
            if limit is not None:
                chat_wait = limit.chat_wait(address)
                if chat_wait > 0:
                    wait = chat_wait if wait is None else min(wait, chat_wait)
                    continue
                global_wait = limit.global_wait()
                if global_wait > 0:
                    if go:
                        break  # send what may go now; the rest next pass
                    await asyncio.sleep(global_wait)
                    if self._queued_new or limit.global_wait() > 0:
                        return 0, 0.0
                limit.take(address)
            go.append(row)
        taken = {row.id for row in go}
        self._queue = [row for row in self._queue if row.id not in taken]
        claimed = await self._claim(go)
        for row in claimed:
            await self._slots.acquire()
            task = asyncio.create_task(self._deliver(row))
            self._in_flight[row.address] = task
            self._flying[row.address] = row.id
            self._claimed_at[row.id] = time.monotonic()
            task.add_done_callback(functools.partial(self._done, row.address))
        if self._leases and go and len(claimed) * 2 < len(go):
            # Other workers took most of these: the queue as read is stale.
            if claimed:
                self._queued_new = True
            else:
                wait = LOST_WAIT if wait is None else min(wait, LOST_WAIT)
            return len(claimed), wait
        return len(go), wait

    def _done(self, address: str, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(address, None)
        self._claimed_at.pop(self._flying.pop(address, -1), None)
        self._slots.release()
        self.wakeup.set()  # the address's next message may go now

    async def _renew(self) -> None:
        """Extend this worker's leases on the rows being sent, every third of a lease."""
        started = time.monotonic()
        if not self._leases or not self._flying or started - self._renewed_at < self._renew_every:
            return
        self._renewed_at = started
        ids = [i for i in self._flying.values() if started - self._claimed_at[i] < MAX_SEND]
        if ids:
            await self._set_leases(ids, func.now() + self.lease)

    async def _set_leases(self, ids: list[int], until: Any) -> None:
        """Move the end of this worker's leases on the rows ``ids`` it is still sending."""
        async with self.db.session() as session:
            await session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id.in_(ids),
                    OutboxRow.status == "sending",
                    OutboxRow.leased_by == self.worker_id,
                )
                .values(lease_until=until)
            )

    async def _due(self, now: datetime) -> list[_Row]:
        due: Any = and_(OutboxRow.status == "pending", OutboxRow.not_before <= now)
        if self._leases:
            due = or_(due, expired())
        async with self.db.session() as session:
            rows = await session.execute(
                select(
                    OutboxRow.id,
                    OutboxRow.user_id,
                    OutboxRow.address,
                    OutboxRow.key,
                    OutboxRow.payload,
                )
                .add_columns(OutboxRow.priority)
                .where(OutboxRow.kind == "message", due)
                .order_by(OutboxRow.priority, OutboxRow.id)
                .limit(BATCH)
            )
            found = list(rows)
        if self._leases:
            # Workers that read the same rows in the same order would keep claiming the
            # same few; within a priority, each takes the addresses in its own random
            # order (one address's rows stay in order, and the claim checks it anyway).
            draw: dict[str, float] = {}
            found.sort(key=lambda r: (r.priority, draw.setdefault(r.address, random.random())))
        return [_Row(r.id, r.user_id, r.address, r.key, r.payload) for r in found]

    async def _claim(self, rows: list[_Row]) -> list[_Row]:
        """Mark the rows as being sent; only those still pending (another worker may race)."""
        if not rows:
            return []
        if self._leases:
            return await self._claim_leased(rows)
        async with self.db.session() as session:
            claimed = await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_([r.id for r in rows]), OutboxRow.status == "pending")
                .values(status="sending", attempts=OutboxRow.attempts + 1)
                .returning(OutboxRow.id)
            )
            ids = set(claimed.scalars())
        return [r for r in rows if r.id in ids]

    async def _claim_leased(self, rows: list[_Row]) -> list[_Row]:
        """PostgreSQL: lease the rows that are still free to go (see the module's doc)."""
        params = {
            "ids": [r.id for r in rows],
            "now": self.clock.now(),
            "lease": self.lease,
            "me": self.worker_id,
        }
        async with self.db.session() as session:
            claimed = await session.execute(CLAIM, params)
            was = {row.id: row.was for row in claimed}
        taken = [i for i, status in was.items() if status == "sending"]
        if taken:
            self.taken_over += len(taken)
            log.warning(
                "took over %d messages whose worker's lease ran out; they may arrive twice "
                "(outbox ids %s)",
                len(taken),
                ", ".join(map(str, sorted(taken)[:20])),
            )
        return [r for r in rows if r.id in was]

    async def _deliver(self, row: _Row) -> None:
        CONVERSATION.set(row.address)  # this task's log lines name the conversation
        transport = self.transports.get(_prefix(row.address))
        if transport is None:
            result = NOT_RUNNING
        else:
            try:
                message = Outgoing.from_payload(row.payload, row.key)
                result = await transport.send(row.address, message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a transport bug must not stop the queue
                log.exception("transport %s failed", transport.prefix)
                result = SendResult(Delivery.RETRY, retry_after=5, detail=type(exc).__name__)
        platform = _prefix(row.address)
        if result.delivery is Delivery.SENT:
            self.sent += 1
            self._delivered.append(row)
            has_file = "attachment" in row.payload
            metrics.MESSAGES_OUT.labels(platform, metrics.kind_of(row.key, has_file)).inc()
            return
        if result.delivery is Delivery.THROTTLED:
            metrics.THROTTLED.labels(platform).inc()
        elif result.delivery is Delivery.RETRY:
            metrics.RETRIES.labels(platform).inc()
        try:
            await self._settle(row, result)
        except Exception:
            log.exception("could not record a send result; the row stays 'sending'")
        finally:
            self._queued_new = True  # back in the queue, or gone: read the queue again

    async def _record_sent(self) -> None:
        """Mark delivered rows sent, many in one transaction (a crash before this leaves
        them ``sending``, which start-up turns into ``unknown``: never sent twice)."""
        if not self._delivered:
            return
        rows, self._delivered = self._delivered, []
        kept = [r.id for r in rows if r.user_id is not None]
        gone = [r.id for r in rows if r.user_id is None]  # e.g. the goodbye after /delete
        try:
            await self._write_sent(kept, gone)
        except Exception:
            self._delivered = rows + self._delivered  # try again on the next pass
            raise

    async def _write_sent(self, kept: list[int], gone: list[int]) -> None:
        async with self.db.session() as session:
            if kept:
                await session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id.in_(kept))
                    .values(
                        status="sent",
                        sent_at=self.clock.now(),
                        error=None,
                        lease_until=None,
                        leased_by=None,
                    )
                )
            if gone:
                await session.execute(delete(OutboxRow).where(OutboxRow.id.in_(gone)))

    async def _settle(self, item: _Row, result: SendResult) -> None:
        now = self.clock.now()
        async with self.db.session() as session:
            row = await session.get(OutboxRow, item.id, with_for_update=self._leases)
            if row is None:
                return  # the user was deleted meanwhile
            if self._leases:
                if row.status != "sending" or row.leased_by != self.worker_id:
                    log.warning(
                        "outbox row %d was taken over meanwhile; its owner settles it", row.id
                    )
                    return
                row.lease_until, row.leased_by = None, None
            if result.parts_sent:
                # Part of a long message arrived: a retry sends only the rest.
                done = int(row.payload.get("parts_sent", 0)) + result.parts_sent
                row.payload = {**row.payload, "parts_sent": done}
            if result.delivery is Delivery.THROTTLED:
                # Not the message's fault: never counts as an attempt, never dropped.
                row.status, row.attempts, row.error = "pending", row.attempts - 1, "rate limited"
                limit = self.limits.get(_prefix(item.address))
                if limit is not None:
                    limit.pause(result.retry_after)
                else:
                    row.not_before = now + timedelta(seconds=result.retry_after)
                    self._held[item.address] = row.not_before
            elif result.delivery is Delivery.RETRY and row.attempts < MAX_ATTEMPTS:
                row.status, row.error = "pending", result.detail[:200] or None
                backoff = max(result.retry_after, 2.0**row.attempts)
                row.not_before = now + timedelta(seconds=backoff)
                self._held[item.address] = row.not_before
            elif result.delivery is Delivery.UNREACHABLE:
                row.status, row.error = "failed", result.detail[:200] or "unreachable"
                await _mark_unreachable(session, row)
            else:
                row.status = "unknown" if result.delivery is Delivery.UNKNOWN else "failed"
                row.error = result.detail[:200] or row.status
                if row.status == "failed":
                    await _tell_file_refused(session, row, now)


async def _tell_file_refused(session: AsyncSession, row: OutboxRow, now: datetime) -> None:
    """A file the platform refused for good (or never took after every try) would leave
    the person waiting for it: say so, once (the key is the file's, made unique)."""
    told = row.payload.get("undeliverable") if "attachment" in row.payload else None
    if not told:
        return
    log.warning("a file was refused for good (outbox row %d); the person is told", row.id)
    notice = store.outbox_row(
        user_id=row.user_id,
        address=row.address,
        key=f"{row.key}:refused",
        message=Say(str(told)),
        priority=store.REPLY,
        now=now,
    )
    await store.enqueue(session, [notice])


def _prefix(address: str) -> str:
    return address.split(":", 1)[0]


async def _mark_unreachable(session: AsyncSession, row: OutboxRow) -> None:
    if row.user_id is None:
        return
    log.info("user %s unreachable; their scheduled messages stop", row.user_id)
    await session.execute(update(User).where(User.id == row.user_id).values(unreachable=True))
    await session.execute(
        update(EpisodeRow).where(EpisodeRow.user_id == row.user_id).values(next_checkin_at=None)
    )
    await session.execute(delete(CheckinSchedule).where(CheckinSchedule.user_id == row.user_id))
    # Someone who blocked the bot is off the digest too; /subscribe brings them back.
    await session.execute(
        delete(DigestSubscription).where(DigestSubscription.user_id == row.user_id)
    )
    await session.execute(
        delete(OutboxRow).where(
            OutboxRow.user_id == row.user_id,
            OutboxRow.status == "pending",
            OutboxRow.id != row.id,
        )
    )
