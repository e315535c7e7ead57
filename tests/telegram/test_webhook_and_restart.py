"""Webhook mode, its secret and health check; a restart mid-conversation; the menu."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bot.db.models import SeenEvent
from bot.telegram.webhook import SECRET_HEADER
from tests.support.telegram_api import FakeTelegramApi
from tests.support.telegram_coach import CoachOnTelegram

USER = 6001


def update_from(user_id: int, update_id: int, text: str) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "Mallory", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "from": person,
            "chat": {"id": user_id, "type": "private", "first_name": "Mallory"},
            "date": 1_772_000_000,
            "text": text,
        },
    }


async def seen_count(bot: CoachOnTelegram) -> int:
    async with bot.coach.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(SeenEvent))).scalar())


async def test_webhook_takes_updates_only_with_the_secret(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    async with CoachOnTelegram(telegram_api, tmp_path, webhook=True) as bot:
        assert telegram_api.webhook_url == bot.config.webhook_url
        await bot.write(USER, "my back hurts")  # delivered by the server with the secret
        assert "not a doctor" in " ".join(bot.texts(USER))
        before = (await seen_count(bot), len(telegram_api.calls_of("sendMessage")))
        forged = update_from(USER + 1, 900, "my back hurts")
        assert await telegram_api.post_to_webhook(forged, "wrong-secret") == 403
        assert await telegram_api.post_to_webhook(forged, None) == 403
        assert await telegram_api.post_to_webhook(forged, "test-secret"[:-1]) == 403
        await bot.settled()
        assert (await seen_count(bot), len(telegram_api.calls_of("sendMessage"))) == before
        assert await bot.coach.service.state_of(f"telegram:{USER + 1}") is None


async def test_webhook_answers_health_checks_and_rejects_junk(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    async with CoachOnTelegram(telegram_api, tmp_path, webhook=True) as bot:
        base = f"http://127.0.0.1:{bot.config.listen_port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200 and (await response.json()) == {"ok": True}
            headers = {SECRET_HEADER: "test-secret"}
            async with http.post(f"{base}/telegram/hook", data=b"{", headers=headers) as response:
                assert response.status == 400
            async with http.get(f"{base}/telegram/hook") as response:
                assert response.status == 405


async def test_restart_mid_conversation_keeps_state_and_skips_repeats(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    telegram_api.limits.per_chat_per_second = telegram_api.limits.chat_burst = 50
    async with CoachOnTelegram(telegram_api, tmp_path) as bot:
        await bot.write(USER, "my back hurts")
        await bot.answer(USER, "agree", "no", "no")
        first = telegram_api.push_message(USER, "no")  # the third red-flag question
        bot.pushed += 1
        await bot.settled()
        sent = len(telegram_api.calls_of("sendMessage", chat_id=USER))
        await bot.restart()
        # Telegram hands the same update out again, as after a crash before the offset moved.
        telegram_api.push_update(first)
        bot.pushed += 1
        await bot.settled()
        assert len(telegram_api.calls_of("sendMessage", chat_id=USER)) == sent
        state = await bot.coach.service.state_of(f"telegram:{USER}")
        assert state is not None and state.index == 3  # the fourth question is pending
        await bot.answer(USER, "no")
        state = await bot.coach.service.state_of(f"telegram:{USER}")
        assert state is not None and state.index == 4


async def test_menu_is_set_in_both_languages(telegram_api: FakeTelegramApi, tmp_path: Path) -> None:
    async with CoachOnTelegram(telegram_api, tmp_path):
        calls = telegram_api.calls_of("setMyCommands", ok=True)
        by_lang = {c.params.get("language_code"): c.params["commands"] for c in calls}
        assert set(by_lang) == {None, "de"}
        english = {c["command"]: c["description"] for c in by_lang[None]}
        german = {c["command"]: c["description"] for c in by_lang["de"]}
        assert set(english) == set(german) >= {"start", "help", "plan", "checkin", "delete"}
        assert english["delete"] != german["delete"]


async def test_metrics_count_updates_and_show_the_outbox(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    from bot import metrics

    async with CoachOnTelegram(telegram_api, tmp_path, webhook=True) as bot:
        before = metrics.UPDATES_IN.labels("telegram")._value.get()
        await bot.write(USER, "my back hurts")
        await metrics.refresh(bot.coach.db, bot.clock.now())
        base = f"http://127.0.0.1:{bot.config.listen_port}"
        async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as response:
            assert response.status == 200
            text = await response.text()
    counted = next(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith('backcoach_updates_in_total{platform="telegram"}')
    )
    assert counted >= before + 1
    assert "backcoach_outbox_depth 0.0" in text  # everything was sent
    assert "my back hurts" not in text
    # No label names a person (values are numbers, and a timestamp may contain any digits).
    labels = [line.split("{", 1)[1].split("}", 1)[0] for line in text.splitlines() if "{" in line]
    assert labels and not [label for label in labels if str(USER) in label]
