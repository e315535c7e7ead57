"""Telegram's flood limits and the faults a test injects, as the fake server applies them.

Telegram documents "about 30 messages per second" per bot and "one message per second" per
chat with short bursts tolerated (https://core.telegram.org/bots/faq). Both are modelled as
token buckets: a bucket holds up to `burst` messages and refills at `rate` per second, so a
sender that keeps to the rate never sees a 429 and one that exceeds it does, with a retry_after
that is honest about when the next message would be accepted.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.telegram_model import ApiError

# What Telegram counts as "messages". Edits and chat actions are not counted here, so a bot
# may answer a button press by editing the message and sending the next question at once.
MESSAGE_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})


@dataclass
class Limits:
    """Flood limits; change the fields in a test to tighten or loosen them."""

    per_second: float = 30.0  # all chats together
    per_chat_per_second: float = 1.0
    chat_burst: int = 3  # messages one chat may receive at once before the 1/s rate applies
    enabled: bool = True
    methods: frozenset[str] = MESSAGE_METHODS


@dataclass
class _Bucket:
    tokens: float
    stamp: float

    def refill(self, now: float, rate: float, capacity: float) -> None:
        self.tokens = min(capacity, self.tokens + (now - self.stamp) * rate)
        self.stamp = now

    def wait(self, rate: float) -> float:
        """Seconds until one whole token is available (0 when one is)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / rate


class RateLimiter:
    """Answers 429 when a message would exceed the global or the per-chat limit."""

    def __init__(self, limits: Limits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._global: _Bucket | None = None
        self._chats: dict[int, _Bucket] = {}

    def admit(self, method: str, chat_id: int) -> None:
        """Take one message from both buckets, or raise a 429 and take nothing."""
        limits = self.limits
        if not limits.enabled or method not in limits.methods:
            return
        now = self._clock()
        overall = self._global = self._global or _Bucket(limits.per_second, now)
        chat = self._chats.setdefault(chat_id, _Bucket(limits.chat_burst, now))
        overall.refill(now, limits.per_second, limits.per_second)
        chat.refill(now, limits.per_chat_per_second, limits.chat_burst)
        wait = max(overall.wait(limits.per_second), chat.wait(limits.per_chat_per_second))
        if wait > 0:
            # Telegram answers whole seconds, never 0.
            raise ApiError.flood(max(1, math.ceil(wait)))
        overall.tokens -= 1
        chat.tokens -= 1


@dataclass(frozen=True)
class Fault:
    """What the server does instead of answering a call normally."""

    error: ApiError | None = None  # answer this instead of performing the call
    delay: float = 0.0  # seconds to wait before answering (provokes client timeouts)


_DESCRIPTIONS = {
    400: "Bad Request",
    403: "Forbidden",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def error_fault(status: int, retry_after: int | None, description: str | None) -> Fault:
    if description is None:
        description = _DESCRIPTIONS.get(status, "Error")
        if status == 429 and retry_after is not None:
            description = f"Too Many Requests: retry after {retry_after}"
    return Fault(error=ApiError(status, description, retry_after))


@dataclass
class FaultPlan:
    """Faults queued per method; each call of that method takes the oldest one."""

    _queued: defaultdict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))

    def add(self, method: str, fault: Fault, times: int) -> None:
        self._queued[method].extend([fault] * times)

    def take(self, method: str) -> Fault | None:
        queue = self._queued.get(method)
        return queue.popleft() if queue else None
