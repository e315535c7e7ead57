"""The whole coach on Telegram for tests: real PTB, real SQLite, the local Bot API server.

    async with CoachOnTelegram(api, tmp_path) as bot:
        await bot.write(USER, "my back hurts")
        await bot.press(USER, "agree")

Only the clock is simulated (check-ins come when the test moves it and ticks); everything
between the HTTP server and the database is the production code.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from sqlalchemy import func, or_, select

from bot.app import Coach, load_all_content
from bot.clock import SimClock
from bot.config import Config
from bot.db.models import OutboxRow
from bot.ratelimit import RateLimit
from bot.telegram.runner import TelegramRunner, build_application
from bot.telegram.transport import PREFIX, TelegramTransport
from tests.support.telegram_api import FakeTelegramApi, free_tcp_port
from tests.support.telegram_model import BotMessage

START = datetime(2026, 3, 2, 18, 30, tzinfo=UTC)  # a Monday evening, 19:30 in Berlin
_CONTENT = load_all_content(Config().content_dir)


class CoachOnTelegram:
    def __init__(
        self,
        api: FakeTelegramApi,
        data_dir: Path,
        *,
        webhook: bool = False,
        limit: RateLimit | None = None,
        clock: SimClock | None = None,
    ) -> None:
        self.api, self.clock = api, clock or SimClock(START)
        port = free_tcp_port()
        self.config = Config(
            data_dir=data_dir,
            default_lang="en",
            telegram_token=api.token,
            telegram_base_url=api.base_url,
            webhook_url=f"http://127.0.0.1:{port}/telegram/hook" if webhook else "",
            webhook_secret="test-secret" if webhook else "",
            listen_host="127.0.0.1",
            listen_port=port,
        )
        # Generous per-chat limits unless a test is about them: a week of dialog at
        # Telegram's 1/s per chat would make every test wait for the limiter.
        self.limit = limit or RateLimit(per_second=30, per_chat_per_second=50, chat_burst=50)
        self.pushed = 0
        self._build()

    def _build(self) -> None:
        application = build_application(self.config)
        self.application = application
        self.coach = Coach(
            self.config,
            self.clock,
            [TelegramTransport(application.bot, self.limit)],
            _CONTENT,
            limits={PREFIX: self.limit},
        )
        self.runner = TelegramRunner(
            application, self.coach.service, self.config, self.coach.healthy
        )
        self._sender: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.coach.start()
        await self.runner.start()
        self._sender = asyncio.create_task(self.coach.sender.run(poll_seconds=0.05))

    async def stop(self) -> None:
        await self.runner.stop()
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        await self.coach.close()

    async def restart(self) -> None:
        """A new process on the same database: nothing in memory survives."""
        await self.stop()
        processed = self.runner.inbound.processed
        self._build()
        self.pushed -= processed  # the new process counts from zero
        await self.start()

    async def __aenter__(self) -> CoachOnTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- what a person does ------------------------------------------------------------------

    async def write(self, chat: int, text: str, language_code: str = "en") -> None:
        self.api.push_message(chat, text, language_code)
        self.pushed += 1
        await self.settled()

    async def command(self, chat: int, name: str, args: str = "") -> None:
        self.api.push_command(chat, name, args)
        self.pushed += 1
        await self.settled()

    async def press(self, chat: int, value: str) -> BotMessage:
        """Press the button with ``value`` under the latest question in ``chat``."""
        message = self.question(chat)
        data = next(d for d in _button_data(message) if d.endswith(f"|{value}"))
        self.api.push_callback(chat, message.message_id, data)
        self.pushed += 1
        await self.settled()
        return message

    async def answer(self, chat: int, *values: str) -> None:
        """Press a button when the latest question has it, else type the words."""
        for value in values:
            buttons = _button_data(self.question(chat)) if self.has_question(chat) else []
            if any(d.endswith(f"|{value}") for d in buttons):
                await self.press(chat, value)
            else:
                await self.write(chat, value)

    async def days(self, count: int = 1, step: timedelta = timedelta(hours=1)) -> None:
        """Let ``count`` days pass hour by hour, ticking the scheduler as production does."""
        end = self.clock.now() + timedelta(days=count)
        while self.clock.now() < end:
            self.clock.advance(step)
            await self.coach.tick()
            await self.settled()

    async def wait_for_message(self, chat: int, max_hours: int = 48) -> BotMessage:
        """Let time pass hour by hour until the bot writes to ``chat`` by itself."""
        before = len(self.messages(chat))
        for _ in range(max_hours):
            self.clock.advance(timedelta(hours=1))
            await self.coach.tick()
            await self.settled()
            if len(self.messages(chat)) > before:
                return self.messages(chat)[before]
        raise AssertionError(f"the bot did not write within {max_hours} hours")

    # -- what the bot did ----------------------------------------------------------------------

    def messages(self, chat: int) -> list[BotMessage]:
        sent = [c.result for c in self.api.calls_of("sendMessage", chat_id=chat, ok=True)]
        found = [self.api.message(chat, m["message_id"]) for m in sent]
        return [m for m in found if m is not None]

    def texts(self, chat: int) -> list[str]:
        return [m.text or "" for m in self.messages(chat)]

    def has_question(self, chat: int) -> bool:
        return any(_button_data(m) for m in self.messages(chat))

    def question(self, chat: int) -> BotMessage:
        for message in reversed(self.messages(chat)):
            if _button_data(message):
                return message
        raise AssertionError(f"no question with buttons in chat {chat}")

    async def settled(self, timeout: float = 15.0) -> None:
        """Every pushed update handled and every due message sent (or given up)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self.runner.inbound.processed >= self.pushed and await self._outbox_quiet():
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"not settled: {self.runner.inbound.processed}/{self.pushed} updates"
                )
            await asyncio.sleep(0.01)

    async def _outbox_quiet(self) -> bool:
        now = self.clock.now()
        async with self.coach.db.session() as session:
            busy = await session.execute(
                select(func.count())
                .select_from(OutboxRow)
                .where(
                    OutboxRow.kind == "message",
                    or_(
                        OutboxRow.status == "sending",
                        (OutboxRow.status == "pending") & (OutboxRow.not_before <= now),
                    ),
                )
            )
            return int(busy.scalar_one()) == 0


def _button_data(message: BotMessage) -> list[str]:
    markup = message.reply_markup or {}
    return [
        str(button["callback_data"])
        for row in markup.get("inline_keyboard", [])
        for button in row
        if "callback_data" in button
    ]
