"""Sending the way Telegram demands: limits, 429s, blocked users, timeouts, long texts."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.db.models import CheckinSchedule, User
from bot.ratelimit import RateLimit
from bot.telegram.markup import MAX_TEXT, split, to_html
from bot.telegram.transport import TelegramTransport
from bot.transport import Delivery, Outgoing, SendResult
from tests.support.telegram_api import FakeTelegramApi, free_tcp_port
from tests.support.telegram_coach import CoachOnTelegram

USER = 7001
TRIAGE = ["agree", *["no"] * 12, "later", "dull", "row", "yes", "6", "morning"]


async def enrol(bot: CoachOnTelegram, chat: int) -> None:
    await bot.write(chat, "my back hurts")
    await bot.answer(chat, *TRIAGE)


async def test_a_user_who_blocks_the_bot_mid_plan_gets_nothing_more(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    telegram_api.limits.per_chat_per_second = telegram_api.limits.chat_burst = 50
    async with CoachOnTelegram(telegram_api, tmp_path) as bot:
        await enrol(bot, USER)
        await enrol(bot, USER + 1)  # someone else, who stays
        telegram_api.block(USER)
        for _ in range(3):  # three days; the other one answers every check-in
            await bot.wait_for_message(USER + 1)
            await bot.answer(USER + 1, "5", "same", "no")
        refused = telegram_api.calls_of("sendMessage", chat_id=USER, ok=False)
        assert len(refused) == 1 and refused[0].status == 403  # tried once, then stopped
        async with bot.coach.db.session() as session:
            rows = await session.execute(
                select(User.address, User.unreachable, CheckinSchedule.due_at).outerjoin(
                    CheckinSchedule, CheckinSchedule.user_id == User.id
                )
            )
            found = {address: (unreachable, at is not None) for address, unreachable, at in rows}
        assert found == {f"telegram:{USER}": (True, False), f"telegram:{USER + 1}": (False, True)}


async def test_a_flood_of_429s_delays_but_never_drops(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    """Twenty people write at once under Telegram's real limits while the server floods."""
    users = [USER + i for i in range(20)]
    async with CoachOnTelegram(telegram_api, tmp_path, limit=RateLimit()) as bot:
        telegram_api.fail_next("sendMessage", times=6, status=429, retry_after=1)
        for user in users:
            telegram_api.push_message(user, "my back hurts")
        bot.pushed += len(users)
        await bot.settled(timeout=60)
        floods = telegram_api.calls_of("sendMessage", ok=False)
        assert floods and all(c.status == 429 for c in floods)
        delivered = Counter(c.chat_id for c in telegram_api.calls_of("sendMessage", ok=True))
        expected = len(bot.texts(users[0]))
        assert expected >= 2
        assert delivered == Counter({user: expected for user in users})  # all, once each
        for user in users:  # and in order: the consent question comes last
            assert "not a doctor" in bot.texts(user)[0] and bot.messages(user)[-1].reply_markup


async def test_two_hundred_people_at_once_no_cross_talk(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    telegram_api.limits.enabled = False
    fast = RateLimit(per_second=2000, per_chat_per_second=50, chat_burst=50)
    async with CoachOnTelegram(telegram_api, tmp_path, limit=fast) as bot:
        users = list(range(10_000, 10_200))
        for user in users:
            if user % 2:
                telegram_api.push_message(user, "mein Rücken tut weh", language_code="de")
            else:
                telegram_api.push_message(user, "my back hurts", language_code="en")
        bot.pushed += len(users)
        await bot.settled(timeout=120)
        for user in users:
            first = bot.texts(user)[0]
            assert ("keine Ärztin" in first) if user % 2 else ("not a doctor" in first), user
        await asyncio.gather(*(bot.coach.service.state_of(f"telegram:{u}") for u in users[:5]))
        chats = {c.chat_id for c in telegram_api.calls_of("sendMessage")}
        assert chats == set(users)
        # Then each answers, all at once again: each conversation moves on its own.
        for user in users:
            message = bot.question(user)
            data = next(d for d in _data(message) if d.endswith("|agree"))
            telegram_api.push_callback(user, message.message_id, data)
        bot.pushed += len(users)
        await bot.settled(timeout=120)
        states = [await bot.coach.service.state_of(f"telegram:{u}") for u in users]
        assert all(s is not None and s.has_consent and s.index == 0 for s in states)


def _data(message: object) -> list[str]:
    markup = getattr(message, "reply_markup", None) or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


# -- the transport's reading of Telegram's answers ----------------------------------------


class Paying(TelegramTransport):
    """Takes the first part's token itself, as the sender does before calling send."""

    async def send(self, address: str, message: Outgoing) -> SendResult:
        assert self.limit is not None
        await self.limit.acquire(address)
        return await super().send(address, message)


async def _transport(api: FakeTelegramApi, read_timeout: float = 5.0) -> TelegramTransport:
    bot = Bot(api.token, base_url=api.base_url, request=HTTPXRequest(read_timeout=read_timeout))
    await bot.initialize()
    return Paying(bot, RateLimit())


async def test_long_texts_are_split_and_escaped(telegram_api: FakeTelegramApi) -> None:
    telegram_api.add_user(USER)
    transport = await _transport(telegram_api)
    paragraph = "Hips <3 & knees > all. " * 40
    text = "\n\n".join([paragraph] * 12)  # about 11,000 characters
    assert len(text) > 2 * MAX_TEXT
    result = await transport.send(f"telegram:{USER}", Outgoing(text))
    assert result.delivery is Delivery.SENT
    calls = telegram_api.calls_of("sendMessage", chat_id=USER, ok=True)
    assert len(calls) >= 3 and all(len(c.params["text"]) <= MAX_TEXT for c in calls)
    seen = [telegram_api.message(USER, c.result["message_id"]) for c in calls]
    assert "\n\n".join(m.text or "" for m in seen if m) == text  # the person reads it all


async def test_a_long_message_failing_midway_resends_only_the_rest(
    telegram_api: FakeTelegramApi,
) -> None:
    telegram_api.add_user(USER)
    transport = await _transport(telegram_api)
    text = "\n\n".join(f"Paragraph {i}. " + "x" * 3000 for i in range(3))
    first = telegram_api.calls_of("sendMessage")
    assert not first
    await transport.send(f"telegram:{USER}", Outgoing(text))  # three parts, all sent
    telegram_api.calls.clear()
    telegram_api.fail_next("sendMessage", status=500, description="Internal Server Error")
    # The second try of a message whose first part had arrived before.
    retry = await transport.send(f"telegram:{USER}", Outgoing(text, parts_sent=1))
    assert retry.delivery is Delivery.RETRY and retry.parts_sent == 0
    again = await transport.send(f"telegram:{USER}", Outgoing(text, parts_sent=1))
    assert again.delivery is Delivery.SENT
    texts = [c.params["text"] for c in telegram_api.calls_of("sendMessage", ok=True)]
    assert [t.split(".")[0] for t in texts] == ["Paragraph 1", "Paragraph 2"]


@pytest.mark.parametrize(
    ("status", "description", "expected"),
    [
        (403, "Forbidden: bot was blocked by the user", Delivery.UNREACHABLE),
        (403, "Forbidden: user is deactivated", Delivery.UNREACHABLE),
        (400, "Bad Request: chat not found", Delivery.UNREACHABLE),
        (403, "Forbidden: bot can't send messages to the user", Delivery.RETRY),
        (429, None, Delivery.THROTTLED),
        (400, "Bad Request: message is too long", Delivery.FAILED),
    ],
)
async def test_telegram_errors_mean_what_they_say(
    telegram_api: FakeTelegramApi, status: int, description: str | None, expected: Delivery
) -> None:
    telegram_api.add_user(USER)
    transport = await _transport(telegram_api)
    telegram_api.fail_next("sendMessage", status=status, description=description)
    result = await transport.send(f"telegram:{USER}", Outgoing("hello"))
    assert result.delivery is expected
    if expected is Delivery.THROTTLED:
        assert result.retry_after == 1


async def test_a_timeout_after_sending_is_unknown_not_resent(
    telegram_api: FakeTelegramApi,
) -> None:
    telegram_api.add_user(USER)
    transport = await _transport(telegram_api, read_timeout=0.2)
    telegram_api.delay_next("sendMessage", 1.0)
    result = await transport.send(f"telegram:{USER}", Outgoing("hello"))
    assert result.delivery is Delivery.UNKNOWN  # it may have arrived: never sent blindly again
    await telegram_api.wait_for(lambda: telegram_api.calls_of("sendMessage", ok=True))


async def test_a_request_that_never_left_is_retried() -> None:
    bot = Bot("1:x", base_url=f"http://127.0.0.1:{free_tcp_port()}/bot")
    result = await TelegramTransport(bot).send(f"telegram:{USER}", Outgoing("hello"))
    assert result.delivery is Delivery.RETRY


@given(st.text(alphabet=st.sampled_from("ab <&>\n*"), max_size=3000))
def test_split_parts_fit_and_lose_nothing(text: str) -> None:
    parts = split(text, limit=200)
    assert all(len(to_html(part)) <= 200 for part in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(
        " ", ""
    )


async def test_a_reply_overtakes_a_long_bulk_run(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    """Three hundred digest messages at 30/s take ten seconds; a reply must not wait."""
    from sqlalchemy import insert

    from bot import store
    from bot.db.models import OutboxRow

    chats = range(30_000, 30_300)
    for chat in chats:
        telegram_api.add_user(chat)
    async with CoachOnTelegram(telegram_api, tmp_path, limit=RateLimit()) as bot:
        now = bot.clock.now()
        rows = [
            {
                "key": f"digest:{chat}:1",
                "user_id": None,
                "address": f"telegram:{chat}",
                "kind": "message",
                "payload": {"text": "Issue 1", "options": []},
                "priority": store.BULK,
                "status": "pending",
                "not_before": now,
                "attempts": 0,
                "created_at": now,
            }
            for chat in chats
        ]
        async with bot.coach.db.session() as session:
            await session.execute(insert(OutboxRow), rows)
        bot.coach.sender.notify()
        await telegram_api.wait_for(lambda: len(telegram_api.calls_of("sendMessage")) >= 30)
        started = asyncio.get_running_loop().time()
        telegram_api.push_message(USER, "/help")
        await telegram_api.wait_for(lambda: telegram_api.calls_of("sendMessage", chat_id=USER))
        waited = asyncio.get_running_loop().time() - started
        bulk_sent = len(telegram_api.calls_of("sendMessage")) - 1
        assert waited < 1.0 and bulk_sent < 200, (waited, bulk_sent)
