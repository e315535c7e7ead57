"""One message end to end (service, dialog step, SQLite commit): target median < 2 ms."""

from __future__ import annotations

import statistics
import tempfile
import time
import timeit
from datetime import UTC, datetime

from bot.app import load_all_content
from bot.clock import SimClock
from bot.db.database import Database
from bot.service import Service
from content.loader import CONTENT_DIR
from dialogs import Text


async def run(rounds: int = 400) -> float:
    content = load_all_content(CONTENT_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3")
        await db.upgrade()
        service = Service(db, content[0], content[1], SimClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
        timings = []
        cpu_started = time.process_time()
        for i in range(rounds):
            address = f"console:u{i % 50}"
            started = time.perf_counter()
            await service.handle(address, Text("what is this?"))  # an idle reply: a full step
            timings.append(time.perf_counter() - started)
        cpu = (time.process_time() - cpu_started) / rounds * 1000
        await db.dispose()
    warm = timings[50:]
    median = statistics.median(warm) * 1000
    p99 = statistics.quantiles(warm, n=100)[98] * 1000
    reference = machine_reference_us()
    print(
        f"message end to end on SQLite: median {median:.2f} ms, p99 {p99:.2f} ms "
        f"(target median < 2 ms: {'met' if median < 2 else 'NOT met'}); "
        f"CPU {cpu:.2f} ms per message (all threads; steadier than the wall clock here); "
        f"= {median * 1000 / reference:.0f}x this machine's reference loop ({reference:.1f} µs)"
    )
    return median


def machine_reference_us() -> float:
    """Best of 5 of a fixed pure-Python loop, in µs: the machines here differ and are
    shared, so the ratio to it compares runs across machines better than milliseconds
    (2026-11-29: 15-26 µs on one 2-core machine, where a message took 2.6-5 ms)."""
    runs = timeit.repeat("sum(range(1000))", number=2000, repeat=5)
    return min(runs) / 2000 * 1e6
