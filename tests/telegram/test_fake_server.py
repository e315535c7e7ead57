"""The local Bot API server, proven with the real python-telegram-bot stack over HTTP.

Each test drives PTB as a transport would (a telegram.Bot, or an Application that polls or
serves a webhook) and checks what the server answered and recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.support.telegram_api import FakeTelegramApi, Limits, free_tcp_port

USER = 4242


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 returns RetryAfter.retry_after as int with a deprecation warning, unless opted in.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


class FakeClock:
    """A monotonic clock the test moves by hand, for the rate limits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def bot_for(api: FakeTelegramApi) -> Bot:
    return Bot(api.token, base_url=api.base_url)


def app_for(api: FakeTelegramApi) -> Application:  # type: ignore[type-arg]
    return ApplicationBuilder().token(api.token).base_url(api.base_url).build()


@contextlib.asynccontextmanager
async def polling(app: Application) -> AsyncIterator[None]:  # type: ignore[type-arg]
    """Run the Application as run_polling does, without its signal handling."""
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=timedelta(seconds=10))
        try:
            yield
        finally:
            await app.updater.stop()
            await app.stop()


@contextlib.asynccontextmanager
async def serving_webhook(app: Application, secret: str) -> AsyncIterator[str]:  # type: ignore[type-arg]
    """Run the Application's webhook server on a free port; yields the webhook URL."""
    port = free_tcp_port()
    url = f"http://127.0.0.1:{port}/telegram"
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1", port=port, url_path="telegram", webhook_url=url, secret_token=secret
        )
        try:
            yield url
        finally:
            await app.updater.stop()
            await app.stop()


async def test_get_me_answers_the_bot_user(telegram_api: FakeTelegramApi) -> None:
    async with bot_for(telegram_api) as bot:  # initialize() already calls getMe
        me = await bot.get_me()

    assert me.is_bot and me.username == "backcoach_test_bot"
    assert me.id == int(telegram_api.token.split(":")[0])
    assert [c.status for c in telegram_api.calls_of("getMe")] == [200, 200]


async def test_wrong_token_and_unknown_method_are_refused(telegram_api: FakeTelegramApi) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("123456789:not-the-token", base_url=telegram_api.base_url):
            pass
    async with bot_for(telegram_api) as bot:
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("sendTelepathy")

    assert [(c.method, c.status) for c in telegram_api.calls] == [
        ("getMe", 401),
        ("getMe", 200),
        ("sendTelepathy", 404),
    ]


async def test_pushed_message_reaches_the_handler_and_its_reply_is_recorded(
    telegram_api: FakeTelegramApi,
) -> None:
    languages: list[str | None] = []

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.effective_user is not None
        languages.append(update.effective_user.language_code)
        await update.message.reply_text(f"echo: {update.message.text}")

    app = app_for(telegram_api)
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with polling(app):
        pushed = telegram_api.push_message(USER, "my back hurts", language_code="de")
        [reply] = await telegram_api.wait_for(
            lambda: telegram_api.calls_of("sendMessage", chat_id=USER)
        )

    assert reply.ok and reply.text == "echo: my back hurts"
    assert reply.result["message_id"] > pushed["message"]["message_id"]
    assert languages == ["de"]
    assert telegram_api.pending_updates() == []  # PTB confirmed the update when it stopped


async def test_button_press_arrives_with_its_data_and_is_answered(
    telegram_api: FakeTelegramApi,
) -> None:
    presses: list[tuple[str | None, int]] = []

    async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        buttons = [
            InlineKeyboardButton("Better", callback_data="pain:better"),
            InlineKeyboardButton("Worse", callback_data="pain:worse"),
        ]
        await update.message.reply_text(
            "How is your back?", reply_markup=InlineKeyboardMarkup([buttons])
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        presses.append((query.data, query.message.message_id))
        await query.answer("Noted")
        await query.edit_message_text("Thanks, noted.")

    app = app_for(telegram_api)
    app.add_handler(CommandHandler("start", ask))
    app.add_handler(CallbackQueryHandler(pressed))
    async with polling(app):
        telegram_api.push_command(USER, "start")
        [question] = await telegram_api.wait_for(lambda: telegram_api.calls_of("sendMessage"))
        assert question.button_data == ["pain:better", "pain:worse"]
        message_id = question.result["message_id"]
        telegram_api.push_callback(USER, message_id, "pain:worse")
        await telegram_api.wait_for(lambda: telegram_api.calls_of("editMessageText", ok=True))

    [answer] = telegram_api.calls_of("answerCallbackQuery")
    assert answer.ok and answer.params["text"] == "Noted"
    assert presses == [("pain:worse", message_id)]
    edited = telegram_api.message(USER, message_id)
    assert edited is not None and edited.text == "Thanks, noted."
    assert edited.reply_markup is None  # an edit that does not repeat the keyboard drops it
    with pytest.raises(ValueError, match="no button"):
        telegram_api.push_callback(USER, message_id, "pain:better")


async def test_injected_429_arrives_as_retry_after_with_its_seconds(
    telegram_api: FakeTelegramApi,
) -> None:
    telegram_api.add_user(USER)
    telegram_api.fail_next("sendMessage", status=429, retry_after=7)
    async with bot_for(telegram_api) as bot:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(USER, "hello")
        await bot.send_message(USER, "hello")  # the fault was for one call

    assert caught.value.retry_after == timedelta(seconds=7)
    assert [c.status for c in telegram_api.calls_of("sendMessage")] == [429, 200]


async def test_one_chat_gets_a_burst_then_one_message_a_second() -> None:
    clock = FakeClock()
    async with (
        FakeTelegramApi(clock=clock, limits=Limits(chat_burst=2)) as api,
        bot_for(api) as bot,
    ):
        api.add_user(USER)
        await bot.send_message(USER, "1")
        await bot.send_message(USER, "2")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(USER, "3")
        clock.now += 1.0
        await bot.send_message(USER, "3")

    assert caught.value.retry_after == timedelta(seconds=1)
    assert [c.status for c in api.calls_of("sendMessage")] == [200, 200, 429, 200]


async def test_all_chats_together_share_the_global_limit() -> None:
    async with (
        FakeTelegramApi(clock=FakeClock(), limits=Limits(per_second=3)) as api,
        bot_for(api) as bot,
    ):
        for user in (1, 2, 3, 4):
            api.add_user(user)
            with contextlib.suppress(RetryAfter):
                await bot.send_message(user, "good morning")

    assert [c.status for c in api.calls_of("sendMessage")] == [200, 200, 200, 429]


async def test_blocked_chat_is_forbidden_and_unknown_chat_not_found(
    telegram_api: FakeTelegramApi,
) -> None:
    telegram_api.add_user(USER)
    telegram_api.block(USER)
    async with bot_for(telegram_api) as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(USER, "still there?")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(999, "hello stranger")

    assert [c.status for c in telegram_api.calls_of("sendMessage")] == [403, 400]


async def test_slow_answer_is_a_timeout_but_the_message_went_out(
    telegram_api: FakeTelegramApi,
) -> None:
    telegram_api.add_user(USER)
    telegram_api.delay_next("sendMessage", seconds=0.5)
    telegram_api.fail_next("sendChatAction", status=500)
    async with bot_for(telegram_api) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(USER, "slow", read_timeout=0.1)
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_chat_action(USER, ChatAction.TYPING)

    # Telegram may deliver what the client gave up on: a retry can send a message twice.
    [sent] = await telegram_api.wait_for(lambda: telegram_api.calls_of("sendMessage"))
    assert sent.ok and sent.answered_at - sent.received_at >= 0.5


async def test_get_updates_long_polls_confirms_by_offset_and_can_repeat_an_update(
    telegram_api: FakeTelegramApi,
) -> None:
    async with bot_for(telegram_api) as bot:
        waiting = asyncio.create_task(bot.get_updates(timeout=30))
        await telegram_api.wait_for(lambda: telegram_api.is_polling)
        first = telegram_api.push_message(USER, "one")["update_id"]
        [update] = await asyncio.wait_for(waiting, timeout=2)  # not after the 30 s
        assert update.update_id == first and update.message and update.message.text == "one"

        second = telegram_api.push_message(USER, "two")["update_id"]
        assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first, second]
        assert [u.update_id for u in await bot.get_updates(offset=first + 1)] == [second]
        assert await bot.get_updates(offset=second + 1) == ()

        telegram_api.push_update(update.to_dict())  # the same update_id once more
        repeated = await bot.get_updates(offset=second + 1)
        assert [u.update_id for u in repeated] == [first]


async def test_a_second_bot_instance_ends_the_first_ones_poll(
    telegram_api: FakeTelegramApi,
) -> None:
    async with bot_for(telegram_api) as bot, bot_for(telegram_api) as second_instance:
        first = asyncio.create_task(bot.get_updates(timeout=30))
        await telegram_api.wait_for(lambda: telegram_api.is_polling)
        await second_instance.get_updates(timeout=0)
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first


async def test_webhook_gets_updates_with_the_secret_and_ptb_refuses_a_wrong_one(
    telegram_api: FakeTelegramApi,
) -> None:
    seen: list[str | None] = []

    async def remember(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        seen.append(update.message.text)

    app = app_for(telegram_api)
    app.add_handler(MessageHandler(filters.TEXT, remember))
    async with serving_webhook(app, secret="s3cret-token") as url:
        assert telegram_api.webhook_url == url
        pushed = telegram_api.push_message(USER, "via webhook")
        await telegram_api.wait_for(lambda: seen)
        [delivery] = telegram_api.webhook_deliveries
        assert (delivery.update_id, delivery.status) == (pushed["update_id"], 200)

        # PTB's webhook server answers 403 to a wrong or missing secret, before parsing.
        assert await telegram_api.post_to_webhook(pushed, secret_token="forged") == 403
        assert await telegram_api.post_to_webhook(pushed, secret_token=None) == 403
        with pytest.raises(Conflict, match="webhook is active"):
            await app.bot.get_updates()

    assert seen == ["via webhook"]


async def test_failing_webhook_is_retried_then_given_up_and_reported() -> None:
    async with FakeTelegramApi(webhook_attempts=2) as api:
        app = app_for(api)
        async with serving_webhook(app, secret="right") as url:
            await app.bot.set_webhook(url, secret_token="wrong")  # a misconfigured deployment
            api.push_message(USER, "lost")
            await api.wait_for(lambda: len(api.webhook_deliveries) == 2)
            info = await app.bot.get_webhook_info()

    assert [d.status for d in api.webhook_deliveries] == [403, 403]
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 403 Forbidden"


async def test_files_are_uploaded_as_multipart_with_their_filename(
    telegram_api: FakeTelegramApi,
) -> None:
    telegram_api.add_user(USER)
    async with bot_for(telegram_api) as bot:
        document = await bot.send_document(
            USER, document=b"%PDF-1.4 plan", filename="plan.pdf", caption="Your plan"
        )
        photo = await bot.send_photo(USER, photo=b"\x89PNG stretch", filename="stretch.png")

    [upload] = telegram_api.calls_of("sendDocument")[0].files
    assert (upload.field, upload.filename, upload.size) == ("document", "plan.pdf", 13)
    assert telegram_api.calls_of("sendPhoto")[0].files[0].filename == "stretch.png"
    assert document.document is not None and document.document.file_name == "plan.pdf"
    assert document.caption == "Your plan"
    assert photo.photo[0].file_size == 12


async def test_commands_are_kept_per_language(telegram_api: FakeTelegramApi) -> None:
    async with bot_for(telegram_api) as bot:
        await bot.set_my_commands([BotCommand("checkin", "Daily check-in")])
        await bot.set_my_commands([BotCommand("checkin", "Täglicher Check-in")], language_code="de")
        german = await bot.get_my_commands(language_code="de")
        default = await bot.get_my_commands()
        french = await bot.get_my_commands(language_code="fr")
        with pytest.raises(BadRequest):
            await bot.set_my_commands([BotCommand("Check-In", "not a command name")])

    assert [c.description for c in german] == ["Täglicher Check-in"]
    assert [c.description for c in default] == ["Daily check-in"]
    assert french == ()


async def test_formatting_and_edits_fail_as_on_telegram(telegram_api: FakeTelegramApi) -> None:
    telegram_api.add_user(USER)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data="done")]])
    async with bot_for(telegram_api) as bot:
        sent = await bot.send_message(USER, "<b>Day 1</b> &amp; counting", parse_mode="HTML")
        with pytest.raises(BadRequest, match="Can't parse entities"):
            await bot.send_message(USER, "pain < 3", parse_mode="HTML")
        with pytest.raises(BadRequest, match="Can't parse entities"):
            await bot.send_message(USER, "Well done.", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text(
                "<b>Day 1</b> &amp; counting", USER, sent.message_id, parse_mode="HTML"
            )
        await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard)
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard)
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("late", USER, 999)

    assert sent.text == "Day 1 & counting"  # what the user sees
    assert telegram_api.calls_of("sendMessage")[0].params["parse_mode"] == "HTML"


async def test_raw_http_answers_have_telegrams_json_shapes(telegram_api: FakeTelegramApi) -> None:
    telegram_api.add_user(USER)
    telegram_api.fail_next("sendMessage", status=429, retry_after=3)
    api_url = telegram_api.base_url + telegram_api.token
    message = {"chat_id": USER, "text": "hi"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api_url}/sendMessage", json=message) as response:
            assert response.status == 429
            assert await response.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            }
        async with http.post(f"{api_url}/sendmessage", json=message) as response:
            body = await response.json()  # method names are case-insensitive
            assert response.status == 200 and body["ok"] is True
            assert body["result"]["text"] == "hi" and body["result"]["chat"]["id"] == USER
        async with http.get(f"{api_url}/getTelepathy") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }


async def test_wait_for_fails_the_test_after_its_deadline(telegram_api: FakeTelegramApi) -> None:
    with pytest.raises(AssertionError, match=r"not true within 0.1s"):
        await telegram_api.wait_for(lambda: telegram_api.calls_of("sendMessage"), timeout=0.1)
