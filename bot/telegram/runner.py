"""The Telegram side of a running coach: the PTB application, long polling or a webhook."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from telegram import BotCommand, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.config import Config
from bot.service import Service
from bot.telegram.inbound import Inbound
from bot.telegram.transport import TelegramTransport
from bot.telegram.webhook import build_server, derived_secret, webhook_path
from content.commands import CommandMenu, load_menu

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query"]
# PTB's Application is generic over six types we never vary.
TelegramApp = Application[Any, Any, Any, Any, Any, Any]


def build_application(config: Config) -> TelegramApp:
    """PTB as a transport: every update to one handler; no ConversationHandler, no persistence.

    Updates are handled concurrently (many people at once); the service's per-conversation
    lock keeps one person's updates in the order they came.
    """
    assert config.telegram_token, "build_application needs TELEGRAM_BOT_TOKEN"
    builder = (
        ApplicationBuilder()
        .token(config.telegram_token)
        .concurrent_updates(256)
        .connection_pool_size(64)  # the sender sends to many chats at once
        .pool_timeout(5.0)
    )
    if config.telegram_base_url:
        builder = builder.base_url(config.telegram_base_url)
    if config.webhook_url:
        builder = builder.updater(None)
    return builder.build()


class TelegramRunner:
    def __init__(
        self,
        application: TelegramApp,
        service: Service,
        config: Config,
        healthy: Callable[[], Awaitable[bool]],
        menu: CommandMenu | None = None,
    ) -> None:
        self.application, self.config, self.healthy = application, config, healthy
        self.menu = menu or load_menu()
        self.inbound = Inbound(service)
        self._site: web.AppRunner | None = None
        application.add_handler(TypeHandler(Update, self.inbound.on_update))
        application.add_error_handler(_log_error)

    def transport(self) -> TelegramTransport:
        return TelegramTransport(self.application.bot)

    async def start(self) -> None:
        """Check the token (getMe), set the menu, then take updates by webhook or polling."""
        app, config = self.application, self.config
        await app.initialize()
        await self._set_menu()
        await app.start()
        if config.webhook_url:
            secret = config.webhook_secret or derived_secret(app.bot.token)
            server = build_server(app, webhook_path(config.webhook_url), secret, self.healthy)
            self._site = web.AppRunner(server, access_log=None)  # paths carry no data, but quiet
            await self._site.setup()
            await web.TCPSite(self._site, config.listen_host, config.listen_port).start()
            await app.bot.set_webhook(
                config.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
            log.info("Telegram webhook mode, listening on %s:%d", *self.listen)
        else:
            await app.bot.delete_webhook()
            assert app.updater is not None
            await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            log.info("Telegram long polling as @%s", app.bot.username)

    @property
    def listen(self) -> tuple[str, int]:
        return self.config.listen_host, self.config.listen_port

    async def stop(self) -> None:
        """Stop taking updates, finish the ones in hand, close the HTTP clients."""
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if self._site is not None:
            await self._site.cleanup()
            self._site = None
        if app.running:
            await app.stop()
        with contextlib.suppress(RuntimeError):  # start failed before initialize finished
            await app.shutdown()

    async def _set_menu(self) -> None:
        bot = self.application.bot
        for lang in ("en", "de"):
            commands = [BotCommand(c.name, c.description.get(lang)) for c in self.menu.commands]
            # English is also the menu for every language without its own.
            await bot.set_my_commands(commands, language_code=None if lang == "en" else lang)


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # The exception's text could quote what a person wrote: its type at ERROR, the rest at DEBUG.
    error = context.error
    log.error("handling a Telegram update failed: %s", type(error).__name__)
    log.debug("details", exc_info=error)
