"""Outbox throughput with 1, 2 and 3 worker processes sharing one PostgreSQL outbox.

    python -m benchmarks.outbox_workers [--rows=10000] [--workers=1,2,3]

Each run: a fresh schema, ``--rows`` pending messages to as many chats, N processes of
``python -m bot.worker`` sending into the local Bot API server (limits off; it runs in
this process). Prints rows per second (first claim to last row recorded ``sent``), the
ratio to one worker, and the CPU seconds the workers and this process (the server) used.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import PG_URL, pg_schema
from tests.support.telegram_api import FakeTelegramApi
from tests.test_scale_out import Workers, per_chat, seed_outbox, statuses


def _arg(name: str, default: str) -> str:
    return next((a.split("=", 1)[1] for a in sys.argv if a.startswith(f"--{name}=")), default)


async def one_run(workers: int, rows: int) -> tuple[float, float, float]:
    """(rows per second, worker CPU seconds, server CPU seconds)."""
    async with FakeTelegramApi() as api:
        api.limits.enabled = False
        schema = pg_schema(PG_URL)
        async with schema as db:
            chats = await seed_outbox(db, rows)
            for chat in chats:
                api.add_user(chat)
            with tempfile.TemporaryDirectory() as tmp:
                team = Workers(api, PG_URL, schema.schema, Path(tmp))
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                mine = resource.getrusage(resource.RUSAGE_SELF)
                try:
                    await team.start(workers)
                    await api.wait_for(lambda: api.calls_of("sendMessage"), timeout=60)
                    started = time.monotonic()
                    await team.until(db, rows, timeout=600)
                    took = time.monotonic() - started
                    await team.stop()
                finally:
                    await team.kill()
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                server = resource.getrusage(resource.RUSAGE_SELF)
            assert (await statuses(db))["sent"] == rows
    counts = per_chat(api)
    assert len(counts) == rows and set(counts.values()) == {1}, "a row was not sent once"
    cpu = lambda a, b: (b.ru_utime + b.ru_stime) - (a.ru_utime + a.ru_stime)  # noqa: E731
    return rows / took, cpu(before, after), cpu(mine, server)


async def run(rows: int = 10_000, counts: tuple[int, ...] = (1, 2, 3)) -> None:
    print(f"outbox throughput, {rows:,} rows to as many chats, PostgreSQL, limits off:")
    base: float | None = None
    for workers in counts:
        rate, worker_cpu, server_cpu = await one_run(workers, rows)
        base = base or rate
        print(
            f"  {workers} worker{'s' if workers > 1 else ' '}: {rate:,.0f} rows/s "
            f"= {rate / base:.2f}x one worker; CPU: workers {worker_cpu:.1f} s "
            f"({worker_cpu / rows * 1000:.2f} ms/row), server {server_cpu:.1f} s"
        )


if __name__ == "__main__":
    asyncio.run(
        run(
            int(_arg("rows", "10000")),
            tuple(int(n) for n in _arg("workers", "1,2,3").split(",")),
        )
    )
