"""Waiting for something outside the test's clock (a server, another process, the
database's own now()): poll a condition until a deadline, never sleep a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

DEADLINE_S = 20.0


async def until(
    check: Callable[[], Awaitable[bool]], failure: str, timeout: float = DEADLINE_S
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(failure)
