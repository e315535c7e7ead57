"""The bot's queue of updates: handed out by getUpdates long polling or POSTed to a webhook.

Confirmation follows Telegram: an update is forgotten once getUpdates is called with an offset
above its update_id, or once the webhook answered 2xx. A webhook that keeps failing gets the
update `attempts` times with growing pauses, then Telegram (and this feed) gives up on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import responses

import aiohttp

from tests.support.telegram_model import ApiError, JsonDict, UploadedFile, WebhookDelivery

_LOGGER = logging.getLogger(__name__)
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Signal:
    """Lets coroutines wait for a condition on shared state; woken whenever it changes."""

    def __init__(self) -> None:
        self.closed = False
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def close(self) -> None:
        """Every wait ends now (server shutdown), instead of at its timeout."""
        self.closed = True
        self.notify()

    async def wait_until(self, condition: Callable[[], bool], timeout: float | None) -> bool:
        """Wait until condition() holds, the signal closes or timeout passes; condition()."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not (condition() or self.closed):
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except TimeoutError:
                break
        return condition()


@dataclass(eq=False)  # compared by identity: the same update_id may be queued twice
class _Pending:
    update: JsonDict
    delivered: bool = False  # returned by getUpdates at least once
    attempts: int = 0  # failed webhook deliveries


@dataclass
class Webhook:
    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] = field(default_factory=list)
    last_error_date: int | None = None
    last_error_message: str | None = None


class UpdateFeed:
    """Pending updates and how they reach the bot."""

    def __init__(
        self,
        signal: Signal,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        attempts: int,
        retry_delay: float,
    ) -> None:
        self.webhook = Webhook()
        self.deliveries: list[WebhookDelivery] = []
        self._pending: list[_Pending] = []
        self._signal = signal
        self._clock = clock
        self._wall_clock = wall_clock
        self._attempts = attempts
        self._retry_delay = retry_delay
        self.waiting_polls = 0  # getUpdates calls waiting for an update right now
        self._poll_generation = 0
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._deliver())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def push(self, update: JsonDict) -> None:
        self._pending.append(_Pending(update))
        self._signal.notify()

    def pending(self) -> list[JsonDict]:
        return [p.update for p in self._pending]

    # -- getUpdates --------------------------------------------------------------------------

    async def get_updates(
        self, params: JsonDict, files: tuple[UploadedFile, ...]
    ) -> list[JsonDict]:
        if self.webhook.url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if isinstance(offset, int) and offset < 0:
            self._pending = self._pending[offset:]  # the last -offset updates; forget the rest
        elif isinstance(offset, int):
            # A re-pushed duplicate below the offset is not confirmed before it was returned.
            self._pending = [
                p for p in self._pending if not (p.delivered and p.update["update_id"] < offset)
            ]
        self._poll_generation += 1
        generation = self._poll_generation

        def interrupted() -> bool:
            return generation != self._poll_generation or bool(self.webhook.url)

        timeout = float(params.get("timeout") or 0)
        self.waiting_polls += 1
        self._signal.notify()  # an older poll still waiting ends with 409 (two bot instances)
        try:
            await self._signal.wait_until(lambda: bool(self._pending) or interrupted(), timeout)
        finally:
            self.waiting_polls -= 1
        if self.webhook.url:
            raise ApiError(409, "Conflict: terminated by setWebhook request")
        if interrupted():
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        batch = self._pending[: int(params.get("limit") or 100)]
        for pending in batch:
            pending.delivered = True
        return [p.update for p in batch]

    # -- webhook -------------------------------------------------------------------------------

    def set_webhook(self, params: JsonDict, files: tuple[UploadedFile, ...]) -> bool:
        url = params.get("url") or ""
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise ApiError.bad_request("secret token contains unallowed characters")
        if url and not url.startswith(("http://", "https://")):
            raise ApiError.bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = Webhook(
            url=url,
            secret_token=secret,
            max_connections=int(params.get("max_connections") or 40),
            allowed_updates=list(params.get("allowed_updates") or []),
        )
        self._signal.notify()
        return True

    def delete_webhook(self, params: JsonDict, files: tuple[UploadedFile, ...]) -> bool:
        return self.set_webhook({"drop_pending_updates": params.get("drop_pending_updates")}, ())

    def get_webhook_info(self, params: JsonDict, files: tuple[UploadedFile, ...]) -> JsonDict:
        hook = self.webhook
        info: JsonDict = {
            "url": hook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if hook.url:
            info["max_connections"] = hook.max_connections
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        return info

    async def _deliver(self) -> None:
        """POST pending updates one at a time, in order, while a webhook is set."""
        while not self._signal.closed:
            if not await self._signal.wait_until(
                lambda: bool(self.webhook.url and self._pending), None
            ):
                continue
            pending, hook = self._pending[0], self.webhook
            status, error = await self.post(pending.update, hook.secret_token)
            update_id = pending.update["update_id"]
            self.deliveries.append(
                WebhookDelivery(update_id, hook.url, status, error, self._clock())
            )
            ok = status is not None and 200 <= status < 300
            if not ok:
                pending.attempts += 1
                hook.last_error_date = int(self._wall_clock())
                hook.last_error_message = error
            done = ok or pending.attempts >= self._attempts
            if done and pending in self._pending:  # deleteWebhook may have dropped it meanwhile
                self._pending.remove(pending)
            self._signal.notify()
            if not done:  # back off like Telegram, though in milliseconds rather than minutes
                delay = self._retry_delay * 2 ** (pending.attempts - 1)
                await self._signal.wait_until(lambda: False, delay)

    async def post(
        self, update: JsonDict, secret_token: str | None
    ) -> tuple[int | None, str | None]:
        """POST one update to the webhook as Telegram does: (HTTP status or None, error)."""
        assert self._session is not None, "start() the server first"
        # Exactly "application/json": PTB's webhook handler answers 403 to anything else.
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        try:
            async with self._session.post(
                self.webhook.url,
                data=json.dumps(update).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                if 200 <= response.status < 300:
                    return response.status, None
                phrase = responses.get(response.status, "")
                return (
                    response.status,
                    f"Wrong response from the webhook: {response.status} {phrase}",
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            _LOGGER.debug("webhook delivery failed: %r", exc)
            return None, f"Connection failed: {exc.__class__.__name__}"
