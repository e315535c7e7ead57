"""Several worker processes share one PostgreSQL outbox (leases), and racing ticks plan once.

Real processes (``python -m bot.worker``) against the local Bot API server, which runs in
the test's event loop; each test works in a fresh PostgreSQL schema of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot import sender as sender_module
from bot.clock import SystemClock
from bot.db.database import Database
from bot.db.models import CheckinTrigger, OutboxRow
from bot.sender import Sender
from bot.transport import Delivery, Outgoing, SendResult
from scheduler import checkins
from tests.conftest import pg_schema
from tests.support.polling import until
from tests.support.telegram_api import FakeTelegramApi

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parent.parent
FIRST_CHAT = 7_000_000


async def seed_outbox(db: Database, count: int) -> range:
    """``count`` users on distinct chats, one pending message each (set-based inserts)."""
    chats = range(FIRST_CHAT, FIRST_CHAT + count)
    async with db.session() as session:
        await session.execute(
            text(
                "INSERT INTO users (address, lang, tz, unreachable, created_at, last_seen_at) "
                "SELECT 'telegram:' || g, 'en', 'UTC', false, now(), now() "
                "FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g"
            ),
            {"first": chats[0], "last": chats[-1]},
        )
        await session.execute(
            text(
                "INSERT INTO outbox (key, user_id, address, kind, payload, priority, status,"
                " not_before, attempts, created_at) "
                "SELECT 'scale:' || u.id, u.id, u.address, 'message',"
                ' CAST(\'{"text": "Issue 1: the most-read articles"}\' AS json), 3,'
                " 'pending', now(), 0, now() FROM users u"
            )
        )
    async with db.engine.connect() as connection:  # what autovacuum would do by and by
        await connection.execute(text("ANALYZE users, outbox"))
        await connection.commit()
    return chats


async def statuses(db: Database) -> Counter[str]:
    async with db.session() as session:
        rows = await session.execute(
            select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
        )
        return Counter({status: int(n) for status, n in rows})


async def leased_by(db: Database, worker: str) -> int:
    async with db.session() as session:
        count = await session.scalar(
            select(func.count()).where(OutboxRow.status == "sending", OutboxRow.leased_by == worker)
        )
        return int(count or 0)


@dataclass
class Worker:
    name: str
    process: asyncio.subprocess.Process
    log: Path

    def report(self) -> tuple[int, int]:
        """(sent, taken over), from the line a worker logs when it stops."""
        found = re.search(r"stopped: (\d+) sent, (\d+) taken over", self.log.read_text())
        return (int(found[1]), int(found[2])) if found else (0, 0)


@dataclass
class Workers:
    """Worker processes sending through ``api`` from the outbox in ``schema``."""

    api: FakeTelegramApi
    url: str
    schema: str
    logs: Path
    lease: float = 60.0
    started: list[Worker] = field(default_factory=list)

    async def start(self, count: int) -> None:
        for _ in range(count):
            name = f"w{len(self.started)}"
            env = {
                **os.environ,
                "BACKCOACH_DATABASE_URL": self.url,
                "BACKCOACH_DATABASE_SCHEMA": self.schema,
                "BACKCOACH_WORKER_ID": name,
                "BACKCOACH_LEASE_SECONDS": str(self.lease),
                "BACKCOACH_LOG_LEVEL": "INFO",
                "BACKCOACH_DATA_DIR": str(self.logs),
                "TELEGRAM_BOT_TOKEN": self.api.token,
                "TELEGRAM_BASE_URL": self.api.base_url,
                "TELEGRAM_MAX_PER_SECOND": "1000000",
            }
            log = self.logs / f"{name}.log"
            with log.open("wb") as out:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot.worker", env=env, cwd=ROOT, stdout=out, stderr=out
                )
            self.started.append(Worker(name, process, log))

    async def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to the live ones; each must stop cleanly (exit status 0)."""
        live = [w for w in self.started if w.process.returncode is None]
        for worker in live:
            worker.process.send_signal(signal.SIGTERM)
        for worker in live:
            code = await asyncio.wait_for(worker.process.wait(), timeout)
            assert code == 0, f"{worker.name} exited {code}:\n{worker.log.read_text()[-3000:]}"
        for worker in self.started:  # httpx logs request URLs, and those carry the token
            assert self.api.token not in worker.log.read_text(), f"{worker.name} logged the token"

    async def kill(self) -> None:
        for worker in self.started:
            if worker.process.returncode is None:
                worker.process.kill()
                await worker.process.wait()

    async def until(self, db: Database, done: int, timeout: float) -> float:
        """Wait until ``done`` rows are ``sent``; returns the seconds it took."""
        started = time.monotonic()
        while (await statuses(db))["sent"] < done:
            if time.monotonic() - started > timeout:
                logs = "\n".join(w.log.read_text()[-2000:] for w in self.started)
                raise AssertionError(f"not all sent in {timeout}s: {await statuses(db)}\n{logs}")
            for worker in self.started:
                if worker.process.returncode not in (None, -signal.SIGKILL):
                    raise AssertionError(f"{worker.name} died:\n{worker.log.read_text()[-3000:]}")
            await asyncio.sleep(0.1)
        return time.monotonic() - started


def per_chat(api: FakeTelegramApi) -> Counter[int]:
    return Counter(int(c.chat_id or 0) for c in api.calls_of("sendMessage", ok=True))


@pytest.fixture
async def api() -> object:
    async with FakeTelegramApi() as server:
        server.limits.enabled = False
        yield server


async def test_three_workers_send_every_row_exactly_once(
    api: FakeTelegramApi, postgres_url: str, tmp_path: Path
) -> None:
    schema = pg_schema(postgres_url)
    async with schema as db:
        chats = await seed_outbox(db, 20_000)
        for chat in chats:
            api.add_user(chat)
        workers = Workers(api, postgres_url, schema.schema, tmp_path)
        try:
            await workers.start(3)
            took = await workers.until(db, len(chats), timeout=120)
            await workers.stop()
        finally:
            await workers.kill()
        assert await statuses(db) == Counter(sent=len(chats))
    counts = per_chat(api)
    assert set(counts) == set(chats)
    assert set(counts.values()) == {1}, "some chat got a message twice"
    shares = [w.report() for w in workers.started]
    assert sum(sent for sent, _ in shares) == len(chats)
    assert all(sent > 0 for sent, _ in shares), f"a worker sent nothing: {shares}"
    assert all(taken == 0 for _, taken in shares)
    print(f"\n3 workers: {len(chats):,} rows in {took:.1f} s; sent per worker {shares}")


async def test_a_killed_workers_rows_are_taken_over_after_its_lease(
    api: FakeTelegramApi, postgres_url: str, tmp_path: Path
) -> None:
    schema = pg_schema(postgres_url)
    async with schema as db:
        chats = await seed_outbox(db, 6_000)
        for chat in chats:
            api.add_user(chat)
        # Long enough that a live worker's loop, busy on a loaded machine, renews its
        # leases in time: then every takeover is the dead worker's row.
        workers = Workers(api, postgres_url, schema.schema, tmp_path, lease=5.0)
        try:
            await workers.start(3)
            await api.wait_for(lambda: len(api.calls) > len(chats) // 3, timeout=60)
            victim = workers.started[0]
            victim.process.kill()  # SIGKILL: no shutdown, its leases stay until they expire
            await victim.process.wait()
            held = await leased_by(db, victim.name)
            killed_at = time.monotonic()
            await workers.until(db, len(chats), timeout=120)
            waited = time.monotonic() - killed_at
            await workers.stop()
        finally:
            await workers.kill()
        assert await statuses(db) == Counter(sent=len(chats))
    counts = per_chat(api)
    assert set(counts) == set(chats), "a chat got nothing"
    duplicates = sum(n - 1 for n in counts.values())
    taken_over = sum(taken for _, taken in (w.report() for w in workers.started[1:]))
    assert held > 0, "the worker had no rows leased when it was killed"
    assert taken_over == held, "the survivors took over exactly the dead worker's rows"
    assert duplicates <= held
    print(
        f"\nkilled worker held {held} leased rows; the others took over {taken_over} "
        f"({waited:.1f} s to finish after the kill); duplicates: {duplicates}"
    )


async def test_racing_ticks_plan_one_trigger_per_user_and_day(postgres_url: str) -> None:
    schema = pg_schema(postgres_url)
    async with schema as db:
        users, now = 3_000, datetime(2026, 3, 2, 9, tzinfo=UTC)
        await seed_due_episodes(db, users, now - timedelta(minutes=5))
        second = Database(postgres_url, schema=schema.schema)  # another replica's engine
        try:
            claimed = await asyncio.gather(
                checkins.claim_due(db, now, batch=500),
                checkins.claim_due(second, now, batch=500),
            )
            # Without the lock (as if it were not held): still one trigger per episode-day.
            await reset_due(db, now - timedelta(minutes=5))
            unlocked = await asyncio.gather(
                checkins._claim_postgresql(db, now, 500),
                checkins._claim_postgresql(second, now, 500),
            )
        finally:
            await second.dispose()
        async with db.session() as session:
            per_user = Counter((await session.scalars(select(CheckinTrigger.address))).all())
    assert sorted(claimed) == [0, users]  # the second tick skipped, or found none due
    assert sum(unlocked) == users  # episodes claimed again, their triggers already there
    assert len(per_user) == users and set(per_user.values()) == {1}
    print(f"\nticks with the lock claimed {claimed}; without it {unlocked}")


async def seed_due_episodes(db: Database, count: int, due: datetime) -> None:
    async with db.session() as session:
        await session.execute(
            text(
                "INSERT INTO users (address, lang, tz, unreachable, created_at, last_seen_at) "
                "SELECT 'telegram:' || g, 'en', 'UTC', false, now(), now() "
                "FROM generate_series(1, CAST(:count AS bigint)) AS g"
            ),
            {"count": count},
        )
        await session.execute(
            text(
                "INSERT INTO episodes (user_id, seq, started_at, status, escalated,"
                " next_checkin_at, next_checkin_day) "
                "SELECT id, 1, now(), 'active', false, :due, 2 FROM users"
            ),
            {"due": due},
        )
    await reset_due(db, due)


async def reset_due(db: Database, due: datetime) -> None:
    """Every episode due (again) at ``due``, as if its plan had just set the time."""
    async with db.session() as session:
        await session.execute(text("DELETE FROM checkin_schedule"))
        await session.execute(
            text(
                "INSERT INTO checkin_schedule (episode_id, user_id, day, due_at) "
                "SELECT id, user_id, 2, :due FROM episodes"
            ),
            {"due": due},
        )


class SlowPlatform:
    """A platform at the edge whose sends take as long as the test says (an upload)."""

    prefix = "telegram"

    def __init__(self) -> None:
        self.started, self.finish = asyncio.Event(), asyncio.Event()
        self.delivered: list[str] = []

    async def has_started(self) -> bool:
        return self.started.is_set()

    async def has_delivered(self) -> bool:
        return bool(self.delivered)

    async def send(self, address: str, message: Outgoing) -> SendResult:
        self.started.set()
        await self.finish.wait()
        self.delivered.append(address)
        return SendResult(Delivery.SENT)


async def lease_of(db: Database) -> tuple[str | None, datetime | None]:
    async with db.session() as session:
        row = (await session.execute(select(OutboxRow.leased_by, OutboxRow.lease_until))).one()
        return row[0], row[1]


@pytest.mark.parametrize("hung", [False, True], ids=["slow send", "hung send"])
async def test_a_slow_send_keeps_its_lease_and_a_hung_one_is_let_go(
    postgres_url: str, hung: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker a's send outlasts its first lease. The lease is renewed meanwhile, so
    worker b, trying all along, never takes the row over (no duplicate), unless the
    send runs past MAX_SEND: then it counts as stuck and b takes it over.

    Leases run on the database's clock, which a test cannot move: it polls conditions
    on it, each with a deadline."""
    if hung:
        monkeypatch.setattr(sender_module, "MAX_SEND", 1.0)
    async with pg_schema(postgres_url) as db:
        await seed_outbox(db, 1)
        clock = SystemClock()
        slow, other = SlowPlatform(), SlowPlatform()
        other.finish.set()
        a = Sender(db, {"telegram": slow}, clock, lease=1.0, worker_id="a")
        b = Sender(db, {"telegram": other}, clock, lease=1.0, worker_id="b")
        running = asyncio.create_task(a.run(poll_seconds=0.1))
        try:
            await until(slow.has_started, "worker a never started its send")
            holder, first_end = await lease_of(db)
            assert holder == "a" and first_end is not None

            async def renewed_past_the_first_lease() -> bool:
                holder, end = await lease_of(db)
                assert holder == "a", "the row was taken over from a live send"
                return end is not None and end > first_end + timedelta(seconds=1)

            async def b_tried_until() -> bool:  # b claims whatever it may, each poll
                await b.flush()
                if hung:
                    return await other.has_delivered()
                return await renewed_past_the_first_lease()

            await until(b_tried_until, "b never took the stuck send over" if hung else "no renewal")
            slow.finish.set()
            await until(lambda: _sent(db), "the row was never settled as sent")
            settled = await statuses(db)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
    if hung:
        assert b.taken_over == 1 and len(other.delivered) == 1  # the stuck send was let go
    else:
        assert (b.taken_over, other.delivered, len(slow.delivered)) == (0, [], 1)
    assert settled == Counter(sent=1)


async def _sent(db: Database) -> bool:
    return (await statuses(db))["sent"] == 1
