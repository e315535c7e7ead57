"""Token buckets for a platform's sending limits: one over all chats, one per chat.

Real (monotonic) time, not the coach's clock: the platform's limits run on the wall
clock even when a test or the console moves the simulated one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

CHAT_HEADROOM = 0.95


@dataclass
class Bucket:
    rate: float  # tokens per second
    capacity: float
    tokens: float
    at: float

    def wait(self, now: float) -> float:
        """Seconds until one token is there (0: one is there now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class RateLimit:
    """Telegram's rules by default: 30 messages a second overall, about 1 a second per chat.

    A chat may get ``chat_burst`` messages at once (a reply of three short messages), then
    one a second; over time that keeps to the per-chat rate.
    """

    per_second: float = 30.0
    per_chat_per_second: float = 1.0
    chat_burst: int = 3
    clock: Callable[[], float] = time.monotonic
    _global: Bucket | None = field(default=None, repr=False)
    _chats: dict[str, Bucket] = field(default_factory=dict, repr=False)
    _paused_until: float = 0.0

    def chat_wait(self, chat: str) -> float:
        """Seconds until ``chat`` may get another message (consumes nothing)."""
        now = self.clock()
        bucket = self._chats.get(chat)
        return bucket.wait(now) if bucket is not None else 0.0

    def global_wait(self) -> float:
        """Seconds until any message may go (consumes nothing)."""
        now = self.clock()
        if now < self._paused_until:
            return self._paused_until - now
        if self._global is None:
            # Start with one token, not a full second's worth: a burst would risk a 429.
            self._global = Bucket(self.per_second, max(1.0, self.per_second / 10), 1.0, now)
        return self._global.wait(now)

    def take(self, chat: str) -> None:
        """Spend a token for ``chat``; call only after both waits were 0."""
        now = self.clock()
        if self._global is not None:
            self._global.tokens -= 1
        bucket = self._chats.get(chat)
        if bucket is None:
            # 5% under the platform's rate: its clock starts a little later than ours,
            # and a message at exactly one second may still find its bucket short.
            bucket = self._chats[chat] = Bucket(
                self.per_chat_per_second * CHAT_HEADROOM, self.chat_burst, self.chat_burst, now
            )
        bucket.tokens -= 1
        if len(self._chats) > 10_000:
            self._forget_idle(now)

    async def acquire(self, chat: str) -> None:
        """Wait until a message to ``chat`` may go, then spend its token."""
        while (wait := max(self.chat_wait(chat), self.global_wait())) > 0:
            await asyncio.sleep(wait)
        self.take(chat)

    def pause(self, seconds: float) -> None:
        """The platform said "too many requests, retry after": nothing goes until then."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def _forget_idle(self, now: float) -> None:
        """A chat whose bucket has refilled needs no entry; keeps memory flat in a burst."""
        full = [
            chat
            for chat, bucket in self._chats.items()
            if bucket.tokens + (now - bucket.at) * bucket.rate >= bucket.capacity
        ]
        for chat in full:
            del self._chats[chat]
