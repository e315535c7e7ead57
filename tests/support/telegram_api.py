"""A local Telegram Bot API server for tests: real HTTP on 127.0.0.1, Telegram's JSON and errors.

    async with FakeTelegramApi() as api:
        bot = telegram.Bot(api.token, base_url=api.base_url)
        api.push_message(42, "hello")
        call = await api.wait_for(lambda: api.calls_of("sendMessage", chat_id=42))

Deliberate differences from Telegram: webhooks may be plain http on any port (Telegram wants
https on 443/80/88/8443), updates go to a webhook one at a time, allowed_updates is recorded
but not applied, and only private chats exist.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from tests.support.telegram_limits import Fault, FaultPlan, Limits, RateLimiter, error_fault
from tests.support.telegram_methods import BotApiState
from tests.support.telegram_model import (
    ApiError,
    BotMessage,
    Call,
    JsonDict,
    TelegramUser,
    UploadedFile,
    WebhookDelivery,
    decode_params,
    inline_callback_data,
)
from tests.support.telegram_updates import Signal, UpdateFeed

__all__ = ["DEFAULT_TOKEN", "Call", "FakeTelegramApi", "Limits", "free_tcp_port"]

DEFAULT_TOKEN = "123456789:AAtestTOKENforTHEfakeBOTapiSERVER_0123"
_T = TypeVar("_T")
AsyncMethod = Callable[[JsonDict, tuple[UploadedFile, ...]], Awaitable[Any]]


def free_tcp_port() -> int:
    """A port that was free a moment ago (for servers that cannot report the one they got)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeTelegramApi:
    """The Bot API of one bot, served on a free port while the server runs."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        require_known_chat: bool = True,
        webhook_attempts: int = 5,
        webhook_retry_delay: float = 0.05,
        bot_username: str = "backcoach_test_bot",
    ) -> None:
        self.token = token
        self.limits = limits or Limits()  # change its fields to tighten limits mid-test
        self.calls: list[Call] = []
        self.port = 0
        self._clock = clock
        self._signal = Signal()
        self._faults = FaultPlan()
        self._feed = UpdateFeed(
            self._signal, clock, wall_clock, webhook_attempts, webhook_retry_delay
        )
        bot = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "Backcoach Test",
            "username": bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        limiter = RateLimiter(self.limits, clock)
        self._state = BotApiState(bot, limiter, wall_clock, require_known_chat)
        self._methods: dict[str, AsyncMethod] = {
            name: _as_async(method) for name, method in self._state.methods().items()
        }
        self._methods |= {
            "getUpdates": self._feed.get_updates,
            "setWebhook": _as_async(self._feed.set_webhook),
            "deleteWebhook": _as_async(self._feed.delete_webhook),
            "getWebhookInfo": _as_async(self._feed.get_webhook_info),
        }
        # Telegram's method names are case-insensitive.
        self._by_lower_name = {name.lower(): name for name in self._methods}
        self._last_update_id = 0
        self._last_callback_id = 0
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 2**20)  # Telegram's upload limit for bots
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        # No access log: the request path contains the bot token.
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        await self._feed.start()

    async def stop(self) -> None:
        self._signal.close()  # long polls and delays answer now, not at their timeout
        await self._feed.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegramApi:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For Bot(base_url=...) and ApplicationBuilder().base_url(); PTB appends the token."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- users and what they do ------------------------------------------------------------

    def add_user(
        self, user_id: int, first_name: str | None = None, language_code: str = "en"
    ) -> TelegramUser:
        """Register (or update) a user who has started the bot, so the bot may write to them."""
        user = TelegramUser(user_id, first_name or f"user{user_id}", language_code)
        self._state.users[user_id] = user
        return user

    def block(self, user_id: int) -> None:
        """From now on every call for this chat answers 403, as after "Stop and block bot"."""
        self._state.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self._state.blocked.discard(user_id)

    def push_message(
        self,
        user_id: int,
        text: str,
        language_code: str = "en",
        first_name: str | None = None,
        entities: list[JsonDict] | None = None,
    ) -> JsonDict:
        """The user writes text to the bot; returns the queued Update."""
        known = self._state.users.get(user_id)
        user = self.add_user(
            user_id, first_name or (known.first_name if known else None), language_code
        )
        message: JsonDict = {
            "message_id": self._state.next_message_id(user_id),
            "from": user.to_json(),
            "chat": user.chat_json(),
            "date": self._state.now(),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        return self._push_new({"message": message})

    def push_command(
        self, user_id: int, command: str, args: str = "", language_code: str = "en"
    ) -> JsonDict:
        """The user sends /command (with the bot_command entity Telegram adds)."""
        name = "/" + command.lstrip("/")
        entity = {"type": "bot_command", "offset": 0, "length": len(name.encode("utf-16-le")) // 2}
        text = f"{name} {args}" if args else name
        return self.push_message(user_id, text, language_code, entities=[entity])

    def push_callback(self, user_id: int, message_id: int, data: str) -> JsonDict:
        """The user presses the inline button carrying `data` under a message the bot sent."""
        message = self._state.messages.get((user_id, message_id))
        if message is None:
            raise ValueError(f"the bot sent no message {message_id} to chat {user_id}")
        buttons = inline_callback_data(message.reply_markup)
        if data not in buttons:
            raise ValueError(f"message {message_id} has no button {data!r}, only {buttons}")
        self._last_callback_id += 1
        query_id = str(4_000_000_000_000 + self._last_callback_id)
        self._state.open_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": self._state.users[user_id].to_json(),
            "message": self._state.message_json(message),
            "chat_instance": str(-user_id),
            "data": data,
        }
        return self._push_new({"callback_query": query})

    def push_update(self, update: JsonDict) -> None:
        """Queue an update exactly as given, e.g. a second time to test de-duplication."""
        self._feed.push(update)

    def _push_new(self, body: JsonDict) -> JsonDict:
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, **body}
        self.push_update(update)
        return update

    # -- faults ----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        times: int = 1,
        status: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
    ) -> None:
        """The next `times` calls of `method` answer this error instead of being performed."""
        after = retry_after if status == 429 else None
        self._faults.add(method, error_fault(status, after, description), times)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `method` are performed, but answered `seconds` late.

        Like Telegram under load: a client that times out cannot tell whether it went through.
        """
        self._faults.add(method, Fault(delay=seconds), times)

    # -- what happened ---------------------------------------------------------------------

    def calls_of(
        self, method: str, chat_id: int | None = None, ok: bool | None = None
    ) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method
            and (chat_id is None or c.chat_id == chat_id)
            and (ok is None or c.ok == ok)
        ]

    def message(self, chat_id: int, message_id: int) -> BotMessage | None:
        """A message the bot sent, as it is now (after edits)."""
        return self._state.messages.get((chat_id, message_id))

    def pending_updates(self) -> list[JsonDict]:
        """Updates the bot has not confirmed yet."""
        return self._feed.pending()

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        return self._feed.deliveries

    @property
    def is_polling(self) -> bool:
        """A getUpdates call is waiting (long polling) right now."""
        return self._feed.waiting_polls > 0

    @property
    def webhook_url(self) -> str:
        return self._feed.webhook.url

    async def wait_for(self, predicate: Callable[[], _T], timeout: float = 5.0) -> _T:
        """Return the predicate's first truthy value; fail the test after `timeout` seconds.

        Re-checks whenever the server records something, and at least every 50 ms for
        predicates about state outside the server (e.g. what a handler saw).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (value := predicate()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = "\n".join(
                    f"  {c.method} {c.status} chat={c.chat_id} text={c.text!r}" for c in self.calls
                )
                raise AssertionError(f"not true within {timeout}s; calls:\n{seen or '  none'}")
            await self._signal.wait_until(lambda: bool(predicate()), min(remaining, 0.05))
        return value

    async def post_to_webhook(self, update: JsonDict, secret_token: str | None) -> int:
        """POST an update to the webhook with the given secret header; the HTTP status."""
        status, error = await self._feed.post(update, secret_token)
        if status is None:
            raise ConnectionError(f"webhook {self.webhook_url!r}: {error}")
        return status

    # -- HTTP ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        received_at = self._clock()
        name = request.match_info["method"]
        method = self._by_lower_name.get(name.lower(), name)
        params: JsonDict = {}
        files: tuple[UploadedFile, ...] = ()
        result: Any = None
        try:
            params, files = await _read_params(request)
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if method not in self._methods:
                raise ApiError(404, "Not Found")
            fault = self._faults.take(method)
            if fault is not None:
                await self._signal.wait_until(lambda: False, fault.delay)
                if fault.error is not None:
                    raise fault.error
            result = await self._methods[method](params, files)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, body = error.status, error.body()
        self.calls.append(
            Call(
                method=method,
                params=params,
                files=files,
                status=status,
                description=body.get("description"),
                result=result,
                received_at=received_at,
                answered_at=self._clock(),
            )
        )
        self._signal.notify()
        return web.json_response(body, status=status)

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(ApiError(404, "Not Found").body(), status=404)


def _as_async(method: Callable[[JsonDict, tuple[UploadedFile, ...]], Any]) -> AsyncMethod:
    async def call(params: JsonDict, files: tuple[UploadedFile, ...]) -> Any:
        return method(params, files)

    return call


async def _read_params(request: web.Request) -> tuple[JsonDict, tuple[UploadedFile, ...]]:
    """Parameters from the query string and a JSON, form or multipart body, as Telegram reads."""
    raw: dict[str, Any] = dict(request.query)
    files: list[UploadedFile] = []
    if request.content_type == "application/json":
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            raise ApiError.bad_request("can't parse JSON") from None
        raw.update(body if isinstance(body, dict) else {})
    elif request.can_read_body:
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                size = len(value.file.read())
                files.append(UploadedFile(name, value.filename, size, value.content_type))
            else:
                raw[name] = value
    return decode_params(raw), tuple(files)
