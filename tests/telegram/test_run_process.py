"""`backcoach run` as an operator starts it: a real process, polling the local Bot API server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.support.telegram_api import FakeTelegramApi

USER = 9001


async def backcoach_run(api: FakeTelegramApi, data: Path, token: str) -> asyncio.subprocess.Process:
    """``backcoach run`` in its own process, against the local Bot API server."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_BASE_URL": api.base_url,
        "BACKCOACH_DATA_DIR": str(data),
        "BACKCOACH_LANG": "en",
    }
    env.pop("BACKCOACH_DATABASE_URL", None)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_serves_telegram_and_stops_cleanly_on_sigterm(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    process = await backcoach_run(telegram_api, tmp_path, telegram_api.token)
    try:
        await telegram_api.wait_for(lambda: telegram_api.is_polling, timeout=30)
        telegram_api.push_message(USER, "my back hurts")
        calls = await telegram_api.wait_for(
            lambda: telegram_api.calls_of("sendMessage", chat_id=USER, ok=True), timeout=15
        )
        assert "not a doctor" in calls[0].params["text"]
        assert telegram_api.calls_of("setMyCommands", ok=True)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0, stderr.decode()
    log = stderr.decode()
    assert telegram_api.token not in log and "my back hurts" not in log
    assert (tmp_path / "backcoach.sqlite3").exists()


async def test_run_with_a_refused_token_says_so(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    process = await backcoach_run(telegram_api, tmp_path, "999:not-the-right-token")
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in stderr.decode() and "Traceback" not in stderr.decode()
