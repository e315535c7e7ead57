"""Telegram updates in: a message or a pressed button becomes one ``Service.handle`` call.

PTB is only the transport here: no ConversationHandler, no PTB persistence. Each update
carries its update_id into the service, which handles a redelivered one only once.
"""

from __future__ import annotations

import html
import logging

from telegram import CallbackQuery, Message, Update, User
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import metrics
from bot.service import Service
from bot.telegram.markup import label_of, parse_callback
from bot.telegram.transport import address_of
from content.localized import Lang
from dialogs import Text
from dialogs.texts import M

log = logging.getLogger(__name__)
SOURCE = "telegram"


def language_of(user: User | None) -> Lang | None:
    """German for a German Telegram, else English; None when Telegram does not say."""
    code = user.language_code if user is not None else None
    if not code:
        return None
    return "de" if code.lower().startswith("de") else "en"


class Inbound:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.processed = 0  # updates taken care of (handled, repeated or ignored)

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await self._on_update(update)
        finally:
            self.processed += 1

    async def _on_update(self, update: Update) -> None:
        metrics.UPDATES_IN.labels(SOURCE).inc()
        if update.callback_query is not None:
            await self._on_button(update, update.callback_query)
            return
        message = update.message
        if message is None or message.chat.type != "private":
            return  # edits, channel posts, groups: the coach talks one to one
        # A sticker, photo or voice note arrives as empty text: the dialog asks for words.
        await self.service.handle(
            address_of(message.chat.id),
            Text(message.text or ""),
            lang_hint=language_of(message.from_user),
            seen=(SOURCE, str(update.update_id)),
        )

    async def _on_button(self, update: Update, query: CallbackQuery) -> None:
        choice = parse_callback(query.data)
        lang = language_of(query.from_user)
        message = query.message
        # Only a button in the person's own chat counts: one from elsewhere changes nothing.
        own = isinstance(message, Message) and message.chat.id == query.from_user.id
        stale = True
        if choice is not None and own:
            transition = await self.service.handle(
                address_of(query.from_user.id),
                choice,
                lang_hint=lang,
                seen=(SOURCE, str(update.update_id)),
            )
            if transition is None:
                return  # a redelivery: answered the first time
            stale = transition.stale
            lang = transition.state.profile.lang
        if isinstance(choice, Text) and not stale:
            await _answer_quietly(query)  # a command button: the message stays as it is
            return
        expired = self.service.content.text(M.EXPIRED, lang or self.service.defaults.lang)
        try:
            await query.answer(text=expired.split("\n")[0][:200] if stale else None)
            if own and isinstance(message, Message):
                await _close_question(message, None if stale else query.data)
        except TelegramError as exc:  # e.g. a query answered too late: nothing to repair
            log.info("could not answer a button press: %s", type(exc).__name__)


async def _answer_quietly(query: CallbackQuery) -> None:
    try:
        await query.answer()
    except TelegramError as exc:
        log.info("could not answer a button press: %s", type(exc).__name__)


async def _close_question(message: Message, data: str | None) -> None:
    """Take the buttons off; show the chosen answer under the question."""
    label = label_of(message.reply_markup, data) if data is not None else None
    if label is None:
        if message.reply_markup is not None:
            await message.edit_reply_markup(reply_markup=None)
        return
    await message.edit_text(
        f"{message.text_html}\n\n✓ <b>{html.escape(label, quote=False)}</b>",
        parse_mode=ParseMode.HTML,
        reply_markup=None,
    )
