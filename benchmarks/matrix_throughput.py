"""The coach on a real Synapse: messages handled per second, and the time from a person's
message to the bot's reply (median, p99), in plain and in encrypted rooms.

Everything runs as in production: the sync loop (``run_matrix``) and the sender's own
loop in the background, the system clock, SQLite. The people are nio clients in the same
process, so the figures include their side of the work too (on 2 cores: a lower bound).

    .venv/bin/python -m benchmarks.matrix_throughput [--people=8] [--messages=15] [--rounds=100]
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bot.app import Coach, load_all_content
from bot.clock import SystemClock
from bot.config import Config
from bot.matrix import MatrixSettings, build_transport, run_matrix
from content.loader import CONTENT_DIR
from tests.matrix.harness import Person, log_in_person
from tests.support.synapse import Synapse

IDLE_TEXT = "what is this?"  # an idle reply: one full dialog step, one message back


async def run(people: int = 8, messages: int = 15, rounds: int = 100) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="matrix-bench-") as tmp,
        Synapse(Path(tmp) / "synapse") as server,
    ):
        print(f"Synapse ready in {server.startup_seconds:.1f} s")
        for encrypted in (False, True):
            await _measure(server, Path(tmp) / str(encrypted), encrypted, people, messages, rounds)


async def _measure(
    server: Synapse, tmp: Path, encrypted: bool, people: int, messages: int, rounds: int
) -> None:
    kind = "encrypted" if encrypted else "plain"
    bot_user = server.register(f"coach-{kind}")
    settings = MatrixSettings(server.base_url, bot_user.user_id, password=bot_user.password)
    config = Config(data_dir=tmp / "bot", default_lang="en")
    transport = build_transport(config, settings)
    coach = Coach(config, SystemClock(), [transport], content=load_all_content(CONTENT_DIR))
    await coach.start()
    stop = asyncio.Event()
    receiving = asyncio.create_task(run_matrix(coach, transport, stop))
    sending = asyncio.create_task(coach.sender.run(poll_seconds=0.5))
    crowd: list[Person] = []
    try:
        for i in range(people):
            user = server.register(f"p{i}-{kind}")
            person = await log_in_person(
                server, user, tmp / f"p{i}", bot_user.user_id, e2e=encrypted
            )
            crowd.append(person)
            await person.open_chat(encrypted=encrypted)
        for person in crowd:  # warm up: the first message sets up the user and the keys
            await _round_trip(person)

        started = time.perf_counter()
        await asyncio.gather(*(_burst(person, messages) for person in crowd))
        elapsed = time.perf_counter() - started
        rate = people * messages / elapsed

        timings = [await _round_trip(crowd[0]) for _ in range(rounds)]
        median = statistics.median(timings) * 1000
        p99 = statistics.quantiles(timings, n=100)[98] * 1000
        print(
            f"Matrix {kind}: {rate:.1f} messages handled/s ({people} people x {messages}, "
            f"each answered); message→reply median {median:.0f} ms, p99 {p99:.0f} ms "
            f"({rounds} rounds)"
        )
    finally:
        stop.set()
        await receiving
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        await coach.close()
        for person in crowd:
            await person.client.close()


async def _burst(person: Person, messages: int) -> None:
    """Send ``messages`` without waiting, then wait for as many replies."""
    expected = len(person.received) + messages
    for _ in range(messages):
        await person.say(IDLE_TEXT)
    await person.read(expected)


async def _round_trip(person: Person) -> float:
    expected = len(person.received) + 1
    started = time.perf_counter()
    await person.say(IDLE_TEXT)
    while len(person.received) < expected:
        await person.sync(timeout_ms=5000)
    return time.perf_counter() - started


def _arg(name: str, default: int) -> int:
    prefix = f"--{name}="
    return int(next((a[len(prefix) :] for a in sys.argv if a.startswith(prefix)), default))


if __name__ == "__main__":
    # nio warns about every Olm session it sets up; the figures are what matter here.
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(_arg("people", 8), _arg("messages", 15), _arg("rounds", 100)))
