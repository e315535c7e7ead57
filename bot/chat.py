"""``backcoach chat``: a conversation with the coach in the terminal, on the real stack."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import TextIO

from bot.app import Coach
from bot.clock import OffsetClock, SimClock
from bot.console import ConsoleTransport, parse_advance
from scheduler.jobs import build_scheduler

Movable = SimClock | OffsetClock
LIVE_TICK_SECONDS = 5.0
HINT = "(type a message; a number picks an option; ::advance 1d moves time; Ctrl-D ends)\n"


async def run_chat(
    coach: Coach,
    console: ConsoleTransport,
    clock: Movable,
    lines: AsyncIterator[str],
    address: str,
    out: TextIO,
    *,
    live: bool = False,
) -> None:
    """Feed each line through the service, then deliver what is due, until input ends.

    With ``live`` set (a terminal), APScheduler also runs the tick every few seconds, so a
    check-in arrives while the person is idle; a lock keeps the two from delivering at once.
    """
    await coach.start()
    busy = asyncio.Lock()

    async def deliver() -> None:
        async with busy:
            await coach.tick()
            await coach.sender.flush()

    scheduler = build_scheduler(deliver, LIVE_TICK_SECONDS) if live else None
    if scheduler is not None:
        scheduler.start()
    try:
        await deliver()
        async for raw in lines:
            line = raw.rstrip("\n")
            if line.strip().startswith("::"):
                _meta(line, clock, out)
            else:
                await coach.service.handle(address, console.to_event(address, line))
            await deliver()
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def _meta(line: str, clock: Movable, out: TextIO) -> None:
    delta = parse_advance(line)
    if delta is not None:
        clock.advance(delta)
        out.write(f"-- {clock.now():%Y-%m-%d %H:%M} UTC --\n\n")
    elif line.strip() == "::now":
        out.write(f"-- {clock.now():%Y-%m-%d %H:%M} UTC --\n\n")
    else:
        out.write("-- commands: ::advance 1d | ::advance 3h | ::advance 30m | ::now --\n\n")
    out.flush()


async def stdin_lines(interactive: bool) -> AsyncIterator[str]:
    """Lines from stdin; a terminal is read in a thread so check-ins can arrive meanwhile."""
    if not interactive:
        for line in sys.stdin:
            yield line
        return
    loop = asyncio.get_running_loop()
    while True:
        try:
            line = await loop.run_in_executor(None, input, "you> ")
        except EOFError:
            return
        yield line
