"""``backcoach doctor`` finds what is wrong with a deployment and says how to fix it."""

from __future__ import annotations

import io
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import telegram
from aiohttp import web

from bot import cli
from bot.config import load_config
from bot.db.database import Database
from bot.doctor import Finding, _webhook, examine, run_doctor
from bot.telegram.webhook import ops_server
from content.loader import CONTENT_DIR
from tests.support.telegram_api import FakeTelegramApi, free_tcp_port

HOOK = "https://coach.example.org/telegram/hook"


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


async def migrated(data_dir: Path) -> dict[str, str]:
    env = {"BACKCOACH_DATA_DIR": str(data_dir)}
    db = Database(load_config(env).db_url)
    await db.upgrade()
    await db.dispose()
    return env


async def doctor_output(env: dict[str, str], *, quick: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_doctor(quick=quick, env=env, out=out)
    return code, out.getvalue()


# -- configuration, database, migrations, content ---------------------------------------------


async def test_a_bad_setting_is_reported_with_its_name(tmp_path: Path) -> None:
    code, out = await doctor_output({"BACKCOACH_DATA_DIR": str(tmp_path), "BACKCOACH_TZ": "Mars"})
    assert code == 1
    assert "PROBLEM  configuration" in out
    assert "BACKCOACH_TZ is not a known time zone" in out
    assert "deploy/backcoach.env.example" in out


async def test_a_bad_matrix_setting_is_a_configuration_problem(tmp_path: Path) -> None:
    env = {"BACKCOACH_DATA_DIR": str(tmp_path), "MATRIX_HOMESERVER": "https://m.example.org"}
    checks = by_check(await examine(env))
    assert checks["configuration"].status == "PROBLEM"
    assert "MATRIX_USER_ID" in checks["configuration"].detail


async def test_no_database_file_yet_says_to_upgrade_and_creates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, out = await doctor_output({"BACKCOACH_DATA_DIR": str(data)}, quick=True)
    assert code == 1
    assert "PROBLEM  database" in out
    assert "run `backcoach db upgrade`" in out
    assert not data.exists()  # the doctor looks; it does not create the database


async def test_an_unmigrated_database_says_to_upgrade(tmp_path: Path) -> None:
    env = {"BACKCOACH_DATA_DIR": str(tmp_path)}
    (tmp_path / "backcoach.sqlite3").touch()  # an empty SQLite file: reachable, no schema
    checks = by_check(await examine(env, quick=True))
    assert checks["database"].status == "OK"
    assert checks["migrations"].status == "PROBLEM"
    assert checks["migrations"].detail == "the database has no schema yet"
    assert checks["migrations"].fix == "run `backcoach db upgrade`"


async def test_an_older_schema_says_to_upgrade(tmp_path: Path) -> None:
    env = {"BACKCOACH_DATA_DIR": str(tmp_path)}
    db = Database(load_config(env).db_url)
    await db.upgrade("0001")
    await db.dispose()
    migrations = by_check(await examine(env, quick=True))["migrations"]
    assert migrations.status == "PROBLEM"
    assert "schema at revision 0001" in migrations.detail
    assert migrations.fix == "run `backcoach db upgrade`"


async def test_a_migrated_database_with_the_shipped_content_is_all_ok(tmp_path: Path) -> None:
    env = await migrated(tmp_path)
    code, out = await doctor_output(env, quick=True)
    assert code == 0, out
    assert "OK       database" in out
    assert "OK       migrations     schema at the newest revision" in out
    assert "OK       content" in out
    assert "SKIP     telegram       no TELEGRAM_BOT_TOKEN" in out
    assert out.endswith("All 4 checks OK.\n")


async def test_a_broken_content_file_is_named_with_its_line(tmp_path: Path) -> None:
    env = await migrated(tmp_path)
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    messages = content / "messages.yaml"
    messages.write_text(messages.read_text(encoding="utf-8") + "\n  broken: [\n", "utf-8")
    env["BACKCOACH_CONTENT_DIR"] = str(content)
    code, out = await doctor_output(env, quick=True)
    assert code == 1
    assert "PROBLEM  content" in out
    assert "messages.yaml" in out
    assert "`backcoach content check`" in out


async def test_an_unreachable_database_hides_its_password(tmp_path: Path) -> None:
    env = {
        "BACKCOACH_DATA_DIR": str(tmp_path),
        "BACKCOACH_DATABASE_URL": f"postgresql+asyncpg://coach:s3cretPW@127.0.0.1:{free_tcp_port()}/x",
    }
    code, out = await doctor_output(env, quick=True)
    assert code == 1
    assert "PROBLEM  database" in out
    assert "check BACKCOACH_DATABASE_URL" in out
    assert "s3cretPW" not in out


def test_the_command_line_runs_the_quick_doctor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BACKCOACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BACKCOACH_DATABASE_URL", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert cli.main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert cli.main(["doctor", "--quick"]) == 0
    assert "All 4 checks OK." in capsys.readouterr().out
    monkeypatch.setenv("BACKCOACH_LANG", "fr")  # a bad setting: no crash, a finding
    assert cli.main(["doctor", "--quick"]) == 1
    assert "BACKCOACH_LANG must be one of" in capsys.readouterr().out


async def test_the_health_check_asks_the_running_bot_itself(tmp_path: Path) -> None:
    """--quick asks /healthz of our real ops server: only a live event loop answers."""
    env = await migrated(tmp_path)
    assert by_check(await examine(env, quick=True))["running bot"].status == "SKIP"
    port = free_tcp_port()
    env["BACKCOACH_METRICS_PORT"] = str(port)
    down = by_check(await examine(env, quick=True))["running bot"]
    assert down.status == "PROBLEM" and "did not answer" in down.detail
    healthy = True

    async def is_healthy() -> bool:
        return healthy

    runner = web.AppRunner(ops_server(is_healthy), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        code, out = await doctor_output(env, quick=True)
        assert code == 0 and "OK       running bot" in out, out
        healthy = False  # it runs but cannot reach its database
        code, out = await doctor_output(env, quick=True)
        assert code == 1 and "answered 503" in out, out
    finally:
        await runner.cleanup()


# -- Telegram, against the local Bot API server -----------------------------------------------


def telegram_env(env: dict[str, str], api: FakeTelegramApi, token: str | None = None) -> None:
    env["TELEGRAM_BOT_TOKEN"] = token or api.token
    env["TELEGRAM_BASE_URL"] = api.base_url


async def test_the_right_token_and_no_webhook_in_polling_mode_are_ok(tmp_path: Path) -> None:
    env = await migrated(tmp_path)
    async with FakeTelegramApi() as api:
        telegram_env(env, api)
        code, out = await doctor_output(env)
        assert [c.method for c in api.calls] == ["getMe", "getWebhookInfo"]
    assert code == 0, out
    assert "OK       telegram       token accepted: the bot is @backcoach_test_bot" in out
    assert "OK       webhook        none set (long polling)" in out
    assert api.token not in out


async def test_a_wrong_token_says_to_check_it_with_botfather(tmp_path: Path) -> None:
    env = await migrated(tmp_path)
    wrong = "987654321:AAwrongTOKENthatTELEGRAMrefuses_0042"
    async with FakeTelegramApi() as api:
        telegram_env(env, api, token=wrong)
        code, out = await doctor_output(env)
    assert code == 1
    assert "PROBLEM  telegram" in out
    assert "check it with @BotFather" in out
    assert "SKIP     webhook" in out
    assert wrong not in out
    assert "AAwrongTOKEN" not in out


async def test_a_webhook_elsewhere_while_polling_is_a_problem(tmp_path: Path) -> None:
    env = await migrated(tmp_path)
    async with FakeTelegramApi() as api:
        bot = telegram.Bot(api.token, base_url=api.base_url)
        async with bot:
            await bot.set_webhook("https://other.example.net/hook")
        telegram_env(env, api)
        code, out = await doctor_output(env)
    assert code == 1
    assert "PROBLEM  webhook" in out
    assert "a webhook is set (https://other.example.net/hook), but this configuration polls" in out
    assert "BACKCOACH_WEBHOOK_URL=https://other.example.net/hook" in out


async def test_webhook_mode_wants_telegram_to_deliver_to_our_url(tmp_path: Path) -> None:
    env = await migrated(tmp_path)
    env["BACKCOACH_WEBHOOK_URL"] = HOOK
    async with FakeTelegramApi() as api:
        telegram_env(env, api)
        missing = by_check(await examine(env))["webhook"]
        bot = telegram.Bot(api.token, base_url=api.base_url)
        async with bot:
            await bot.set_webhook("https://old.example.org/hook")
            elsewhere = by_check(await examine(env))["webhook"]
            await bot.set_webhook(HOOK)
            right = by_check(await examine(env))["webhook"]
    assert missing.status == "PROBLEM"
    assert "no webhook" in missing.detail
    assert elsewhere.status == "PROBLEM"
    assert f"delivers to https://old.example.org/hook, not to BACKCOACH_WEBHOOK_URL ({HOOK})" in (
        elsewhere.detail
    )
    assert right.status == "OK"
    assert right.detail == f"set to {HOOK}; 0 updates waiting"


async def test_failed_webhook_deliveries_are_reported(tmp_path: Path) -> None:
    """The local server cannot reach the hook: Telegram records the error, doctor shows it."""
    env = await migrated(tmp_path)
    unreachable = f"https://127.0.0.1:{free_tcp_port()}/hook"
    env["BACKCOACH_WEBHOOK_URL"] = unreachable
    async with FakeTelegramApi(webhook_attempts=1) as api:
        telegram_env(env, api)
        bot = telegram.Bot(api.token, base_url=api.base_url)
        async with bot:
            await bot.set_webhook(unreachable)
        api.push_message(42, "hello")
        await api.wait_for(lambda: api.webhook_deliveries)
        webhook = by_check(await examine(env))["webhook"]
    assert webhook.status == "PROBLEM"
    assert "last delivery" in webhook.detail
    assert "X-Telegram-Bot-Api-Secret-Token" in webhook.fix


def test_old_webhook_errors_and_piled_up_updates() -> None:
    config = load_config({"BACKCOACH_WEBHOOK_URL": HOOK})
    long_ago = (datetime.now(UTC) - timedelta(days=2), "Connection timed out")
    assert _webhook(config, HOOK, 3, long_ago).status == "OK"
    just_now = (datetime.now(UTC) - timedelta(minutes=2), "Wrong response from the webhook: 502")
    assert "502" in _webhook(config, HOOK, 3, just_now).detail
    piled = _webhook(config, HOOK, 5000, None)
    assert piled.status == "PROBLEM"
    assert "5000 updates are waiting" in piled.detail
