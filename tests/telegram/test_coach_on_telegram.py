"""The coach on Telegram end to end: real PTB over HTTP, the local Bot API server, SQLite."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.telegram_api import FakeTelegramApi
from tests.support.telegram_coach import CoachOnTelegram

USER = 5001
BERLIN = ZoneInfo("Europe/Berlin")
TRIAGE = ["agree", *["no"] * 12, "later", "dull", "deadlift", "yes", "6", "morning"]
RECOVERY = [(6, "same"), (5, "better"), (4, "better"), (3, "better"), (2, "better"), (1, "better")]


async def test_a_week_of_recovery_with_buttons(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    telegram_api.limits.per_chat_per_second = telegram_api.limits.chat_burst = 50
    async with CoachOnTelegram(telegram_api, tmp_path) as bot:
        await bot.write(USER, "my back hurts after deadlifts yesterday")
        assert "not a doctor" in " ".join(bot.texts(USER))
        await bot.answer(USER, *TRIAGE)
        presses = len(telegram_api.calls_of("answerCallbackQuery"))
        assert presses == len(TRIAGE)  # every answer above was a button
        for day, (score, trend) in enumerate([*RECOVERY, (1, "same")], start=1):
            checkin = await bot.wait_for_message(USER)
            assert bot.clock.now().astimezone(BERLIN).hour == 8, f"day {day} came at the wrong hour"
            assert checkin.reply_markup is not None  # the 0–10 keyboard
            await bot.answer(USER, str(score), trend, "no")
        closing = " ".join(bot.texts(USER)[-3:]).lower()
        assert "congrat" in closing or "well done" in closing or "great" in closing, closing
        assert not telegram_api.calls_of("sendMessage", ok=False)  # no 429, no error
        # Every question answered by a button shows the choice and has no buttons left.
        pressed = [m for m in bot.messages(USER) if m.edit_date is not None]
        assert len(pressed) >= len(TRIAGE)
        assert all(m.reply_markup in (None, {}) and "✓" in (m.text or "") for m in pressed)


async def test_files_arrive_as_photo_and_documents(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    telegram_api.limits.per_chat_per_second = telegram_api.limits.chat_burst = 50
    async with CoachOnTelegram(telegram_api, tmp_path) as bot:
        await bot.write(USER, "my back hurts")
        await bot.answer(USER, *TRIAGE)
        await bot.write(USER, "/progress")
        await bot.write(USER, "/export")
        photos = telegram_api.calls_of("sendPhoto", chat_id=USER, ok=True)
        documents = telegram_api.calls_of("sendDocument", chat_id=USER, ok=True)
        assert len(photos) == 1 and "Day 0: 6" in photos[0].params["caption"]
        assert photos[0].files and photos[0].files[0].size > 1000
        names = sorted(f.filename or "" for call in documents for f in call.files)
        assert len(names) == 2 and names[0].endswith(".json") and names[1].endswith(".csv")
        assert "2026-03-02" in names[0]  # dated by the coach's clock
