"""`backcoach run` as an operator starts it: a real process, polling the local Bot API server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.support.telegram_api import FakeTelegramApi

USER = 9001


async def test_run_serves_telegram_and_stops_cleanly_on_sigterm(
    telegram_api: FakeTelegramApi, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": telegram_api.token,
        "TELEGRAM_BASE_URL": telegram_api.base_url,
        "BACKCOACH_DATA_DIR": str(tmp_path),
        "BACKCOACH_LANG": "en",
    }
    env.pop("BACKCOACH_DATABASE_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
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
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "999:not-the-right-token",
        "TELEGRAM_BASE_URL": telegram_api.base_url,
        "BACKCOACH_DATA_DIR": str(tmp_path),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in stderr.decode() and "Traceback" not in stderr.decode()
