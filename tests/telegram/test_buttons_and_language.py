"""Buttons that are stale, forged or someone else's; the language a person gets first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.telegram.markup import MAX_DATA, callback_data, parse_callback
from dialogs.states import State
from tests.support.telegram_api import FakeTelegramApi
from tests.support.telegram_coach import CoachOnTelegram
from tests.support.telegram_model import BotMessage

USER, OTHER = 8001, 8002


def press_update(update_id: int, user_id: int, message: BotMessage, data: str) -> dict[str, Any]:
    """A callback query as Telegram would send it, for buttons no real client could press."""
    person = {"id": user_id, "is_bot": False, "first_name": "P", "language_code": "en"}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"forged-{update_id}",
            "from": person,
            "message": {
                "message_id": message.message_id,
                "chat": {"id": message.chat_id, "type": "private", "first_name": "P"},
                "date": message.date,
                "text": message.text,
            },
            "chat_instance": "1",
            "data": data,
        },
    }


async def state(bot: CoachOnTelegram, chat: int) -> State | None:
    return await bot.coach.service.state_of(f"telegram:{chat}")


async def test_old_forged_and_foreign_buttons_change_nothing(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    telegram_api.limits.per_chat_per_second = telegram_api.limits.chat_burst = 50
    async with CoachOnTelegram(telegram_api, tmp_path) as bot:
        await bot.write(USER, "my back hurts")
        consent = bot.question(USER)
        old_data = next(d for d in _data(consent) if d.endswith("|decline"))
        await bot.press(USER, "agree")
        before = await state(bot, USER)
        assert before is not None and before.has_consent
        answers_before = len(telegram_api.calls_of("answerCallbackQuery"))
        cases = [
            (USER, old_data),  # the consent button, pressed again from an old screen
            (USER, "c|999|agree"),  # a turn that never existed
            (USER, "c|x|no"),  # tampered format
            (USER, "garbage"),
            (USER, "c|" + "9" * 70),  # over 64 bytes
            (OTHER, old_data),  # someone else pressing in this chat
        ]
        for update_id, (who, data) in enumerate(cases, start=50_000):
            telegram_api.push_update(press_update(update_id, who, consent, data))
            bot.pushed += 1
        await bot.settled()
        after = await state(bot, USER)
        assert after is not None and before is not None
        assert (after.node, after.index, after.has_consent) == (
            before.node,
            before.index,
            before.has_consent,
        )
        assert await state(bot, OTHER) is None  # a stray button creates nobody
        answers = telegram_api.calls_of("answerCallbackQuery")[answers_before:]
        assert len(answers) == len(cases)
        assert all("expired" in str(c.params.get("text", "")).lower() for c in answers)
        # The current question can still be answered normally.
        await bot.press(USER, "no")
        moved = await state(bot, USER)
        assert moved is not None and moved.index == before.index + 1


async def test_a_pressed_button_shows_the_choice_and_cannot_be_pressed_again(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    async with CoachOnTelegram(telegram_api, tmp_path) as bot:
        await bot.write(USER, "my back hurts")
        pressed = await bot.press(USER, "agree")
        shown = telegram_api.message(USER, pressed.message_id)
        assert shown is not None and shown.reply_markup in (None, {})
        assert shown.text is not None and shown.text.endswith("\n\n✓ Yes, I agree")
        assert shown.text.startswith(pressed.text or "")  # the question stays readable
        assert telegram_api.calls_of("answerCallbackQuery", ok=True)


async def test_language_follows_telegram_until_chosen(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    async with CoachOnTelegram(telegram_api, tmp_path) as bot:
        await bot.write(USER, "/help", language_code="de-AT")
        await bot.write(OTHER, "/help", language_code="pt-BR")
        german, english = await state(bot, USER), await state(bot, OTHER)
        assert german is not None and german.profile.lang == "de"
        assert english is not None and english.profile.lang == "en"


async def test_the_digest_deep_link_subscribes_after_a_confirmation(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from bot.db.models import DigestSubscription

    async def status() -> list[str]:
        async with bot.coach.db.session() as session:
            return list((await session.execute(select(DigestSubscription.status))).scalars())

    async with CoachOnTelegram(telegram_api, tmp_path) as bot:
        await bot.command(USER, "start", "digest")  # t.me/<bot>?start=digest
        assert "every two weeks" in bot.texts(USER)[-1].lower()
        assert await status() == ["pending"]  # asked, not yet confirmed: nothing is sent
        await bot.press(USER, "yes")
        assert await status() == ["active"]
        await bot.write(USER, "/unsubscribe")
        assert await status() == []


@pytest.mark.parametrize("value", ["agree", "10", "evening", "x" * 40])
def test_callback_data_round_trips_within_64_bytes(value: str) -> None:
    data = callback_data("123456", value)
    assert len(data.encode()) <= MAX_DATA
    choice = parse_callback(data)
    assert choice is not None and (choice.question, choice.value) == ("123456", value)


def _data(message: BotMessage) -> list[str]:
    markup = message.reply_markup or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_article_buttons_open_articles_from_any_message(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    telegram_api.limits.per_chat_per_second = telegram_api.limits.chat_burst = 50
    async with CoachOnTelegram(telegram_api, tmp_path) as bot:
        await bot.write(USER, "/articles")
        listing = await bot.press(USER, "/read soreness-or-injury")
        assert bot.texts(USER)[-1].startswith("Soreness or injury?")
        assert telegram_api.message(USER, listing.message_id).reply_markup  # still usable
        answers = telegram_api.calls_of("answerCallbackQuery", ok=True)
        assert answers and "text" not in answers[-1].params
        await bot.press(USER, "/read warm-up-the-right-way")  # the same list, again
        assert bot.texts(USER)[-1].startswith("Warm up")
