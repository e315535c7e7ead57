"""``backcoach doctor``: check a deployment and say what is wrong and how to fix it.

Checks, in order: the configuration, the database answers, its schema is at the newest
migration, the content files are valid, Telegram accepts the token (getMe) and the
webhook is where this configuration expects it (getWebhookInfo). ``--quick`` leaves out
the network checks, for a container health check, and instead asks the running bot's
own ``/healthz`` (webhook port, or BACKCOACH_METRICS_PORT): that page is served by the
bot's event loop, so an answer proves the loop is alive, not just its configuration.
Secrets (the bot token, the webhook secret, passwords) never appear in the output.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import Config, ConfigError, load_config
from content.source import ContentError

if TYPE_CHECKING:
    from telegram import WebhookInfo

    from bot.db.database import Database

Status = Literal["OK", "PROBLEM", "SKIP"]
DB_TIMEOUT = 10.0  # seconds for the database to answer
RECENT_ERROR = timedelta(hours=1)  # older webhook errors are history, not a problem now
PENDING_LIMIT = 1000  # updates waiting at Telegram beyond this: nobody is taking them
UPGRADE = "run `backcoach db upgrade`"
TELEGRAM_API = "https://api.telegram.org/bot"  # PTB's default; the token is appended


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "PROBLEM"


def ok(check: str, detail: str) -> Finding:
    return Finding(check, "OK", detail)


def problem(check: str, detail: str, fix: str) -> Finding:
    return Finding(check, "PROBLEM", detail, fix)


def skip(check: str, detail: str) -> Finding:
    return Finding(check, "SKIP", detail)


async def run_doctor(
    *, quick: bool = False, env: Mapping[str, str] | None = None, out: TextIO | None = None
) -> int:
    """Print every finding; 0 when nothing is wrong, 1 otherwise."""
    env = dict(os.environ if env is None else env)
    findings = await examine(env, quick=quick)
    (out or sys.stdout).write(render(findings, secrets_in(env)))
    return 0 if all(f.ok for f in findings) else 1


async def examine(env: Mapping[str, str], *, quick: bool = False) -> list[Finding]:
    try:
        config = load_config(dict(env))
        matrix = _matrix_summary(env)
    except ConfigError as exc:
        return [
            problem(
                "configuration",
                str(exc),
                "correct the setting in the environment file "
                "(every setting is described in deploy/backcoach.env.example)",
            )
        ]
    findings = [ok("configuration", _describe(config, matrix))]
    findings += await _database_checks(config)
    findings.append(_content(config))
    if not config.telegram_token:
        findings.append(skip("telegram", "no TELEGRAM_BOT_TOKEN: Telegram is off"))
    elif quick:
        findings.append(skip("telegram", "token and webhook not checked (--quick)"))
    else:
        findings += await _telegram_checks(config)
    if quick:
        findings.append(await _running_bot(config))
    return findings


# -- the running bot (--quick) ---------------------------------------------------------------

HEALTH_TIMEOUT_S = 5.0


async def _running_bot(config: Config) -> Finding:
    """Ask the bot's own /healthz, served by its event loop: a stuck loop cannot answer."""
    port = config.listen_port if config.webhook_url else config.metrics_port
    if port is None:
        return skip(
            "running bot",
            "no port to ask: set BACKCOACH_METRICS_PORT so the health check sees the bot answer",
        )
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        timeout = aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as response:
            answered = response.status == 200
            detail = f"{url} answered {response.status}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        answered, detail = False, f"{url} did not answer ({type(exc).__name__})"
    if answered:
        return ok("running bot", detail)
    return problem(
        "running bot",
        detail,
        "the bot is not running, still starting, or stuck: see its log "
        "(a 503 means it runs but cannot reach its database)",
    )


def render(findings: list[Finding], secrets: Sequence[str] = ()) -> str:
    width = max(len(f.check) for f in findings)
    lines: list[str] = []
    for f in findings:
        head, *rest = f.detail.splitlines() or [""]
        lines.append(f"{f.status:<8} {f.check:<{width}}  {head}")
        indent = " " * (9 + width + 2)
        lines += [indent + line for line in rest]
        if f.fix:
            lines.append(f"{indent}fix: {f.fix}")
    problems = sum(not f.ok for f in findings)
    checked = sum(f.status != "SKIP" for f in findings)
    if problems:
        lines.append(f"{problems} problem{'s' if problems > 1 else ''} found.")
    else:
        lines.append(f"All {checked} checks OK.")
    report = "\n".join(lines) + "\n"
    for secret in secrets:
        report = report.replace(secret, "***")
    return report


def secrets_in(env: Mapping[str, str]) -> list[str]:
    """Values that must never be printed, even inside an error message from a library."""
    names = (
        "TELEGRAM_BOT_TOKEN",
        "BACKCOACH_WEBHOOK_SECRET",
        "MATRIX_PASSWORD",
        "MATRIX_ACCESS_TOKEN",
    )
    values = [env.get(name, "") for name in names]
    url = env.get("BACKCOACH_DATABASE_URL", "")
    if url:
        try:
            values.append(make_url(url).password or "")
        except Exception:  # an unparsable URL: the database check reports it
            values.append(url)
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


# -- configuration ---------------------------------------------------------------------------


def _matrix_summary(env: Mapping[str, str]) -> str:
    from bot.matrix.settings import from_env

    settings = from_env(env)
    return f"Matrix as {settings.user_id}" if settings is not None else ""


def _describe(config: Config, matrix: str) -> str:
    if not config.telegram_token:
        telegram = "no Telegram"
    elif config.webhook_url:
        telegram = f"Telegram by webhook at {config.webhook_url}"
    else:
        telegram = "Telegram by long polling"
    platforms = ", ".join(p for p in (telegram, matrix) if p)
    return f"{platforms}; database {_safe_url(config.db_url)}"


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(an unparsable BACKCOACH_DATABASE_URL)"


# -- database ----------------------------------------------------------------------------------


async def _database_checks(config: Config) -> list[Finding]:
    from bot.db.database import Database

    where = _safe_url(config.db_url)
    sqlite_file = _sqlite_file(config.db_url)
    if sqlite_file is not None and not sqlite_file.exists():
        return [
            problem(
                "database",
                f"there is no SQLite database at {sqlite_file} yet",
                f"{UPGRADE} (it creates it), or point BACKCOACH_DATA_DIR at the existing one",
            ),
            skip("migrations", "no database"),
        ]
    try:
        db = Database(config.db_url)
    except Exception as exc:
        return [problem("database", f"cannot use {where}: {_short(exc)}", _db_fix(config))]
    try:
        try:
            await asyncio.wait_for(_select_one(db), DB_TIMEOUT)
        except Exception as exc:
            return [
                problem("database", f"cannot use {where}: {_short(exc)}", _db_fix(config)),
                skip("migrations", "no database"),
            ]
        return [ok("database", f"{where} answers"), await _migrations(db)]
    finally:
        await db.dispose()


async def _select_one(db: Database) -> None:
    async with db.engine.connect() as connection:
        await connection.execute(text("select 1"))


def _db_fix(config: Config) -> str:
    if config.database_url:
        return (
            "check BACKCOACH_DATABASE_URL (host, port, database, user, password) and that "
            "the database server is running and lets this machine in"
        )
    return f"check that BACKCOACH_DATA_DIR ({config.data_dir}) is writable by this user"


def _sqlite_file(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[-1]
    return None if path in ("", ":memory:") else Path(path).expanduser()


async def _migrations(db: Database) -> Finding:
    from alembic.script import ScriptDirectory

    from bot.db.database import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    known = {revision.revision for revision in script.walk_revisions()}
    try:
        current = await asyncio.wait_for(db.current_revision(), DB_TIMEOUT)
    except Exception as exc:
        return problem("migrations", f"cannot read the schema revision: {_short(exc)}", UPGRADE)
    if current is None:
        return problem("migrations", "the database has no schema yet", UPGRADE)
    if current in heads:
        return ok("migrations", f"schema at the newest revision ({current})")
    if current in known:
        return problem(
            "migrations",
            f"schema at revision {current}, this version needs {', '.join(heads)}",
            UPGRADE,
        )
    return problem(
        "migrations",
        f"schema at revision {current}, which this version of backcoach does not know",
        "a newer backcoach migrated this database: run that version here too "
        "(the code must not be older than the schema)",
    )


# -- content -----------------------------------------------------------------------------------


def _content(config: Config) -> Finding:
    from bot.app import load_all_content

    try:
        content, _ = load_all_content(config.content_dir)
    except ContentError as exc:
        count = len(exc.problems)
        listed = "\n".join(f"- {p}" for p in exc.problems)
        return problem(
            "content",
            f"{count} problem{'s' if count > 1 else ''} in {config.content_dir}:\n{listed}",
            "correct the files named above, then check again with `backcoach content check`",
        )
    except (OSError, ValueError) as exc:
        return problem(
            "content",
            f"cannot read {config.content_dir}: {_short(exc)}",
            "point BACKCOACH_CONTENT_DIR at a copy of the shipped content/ directory",
        )
    return ok(
        "content",
        f"{len(content.messages)} messages, {len(content.questions)} questions, "
        f"red-flag rules version {content.rules.version}",
    )


# -- Telegram ----------------------------------------------------------------------------------


async def _telegram_checks(config: Config) -> list[Finding]:
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, TelegramError

    assert config.telegram_token
    server = config.telegram_base_url or "Telegram's Bot API"
    bot = Bot(config.telegram_token, base_url=config.telegram_base_url or TELEGRAM_API)
    try:
        await bot.initialize()  # getMe
    except InvalidToken:
        await bot.shutdown()
        return [
            problem(
                "telegram",
                f"{server} refused TELEGRAM_BOT_TOKEN",
                "check it with @BotFather (/mybots → your bot → API Token) and copy it whole",
            ),
            skip("webhook", "needs a working token"),
        ]
    except NetworkError as exc:
        await bot.shutdown()
        return [
            problem(
                "telegram",
                f"cannot reach {server}: {_short(exc)}",
                "check this machine's network, DNS and proxy"
                + (", and TELEGRAM_BASE_URL" if config.telegram_base_url else ""),
            ),
            skip("webhook", "Telegram not reachable"),
        ]
    except TelegramError as exc:
        await bot.shutdown()
        return [
            problem("telegram", f"getMe failed: {_short(exc)}", "try again; if it stays, ask"),
            skip("webhook", "getMe failed"),
        ]
    try:
        found = ok("telegram", f"token accepted: the bot is @{bot.username}")
        try:
            info = await bot.get_webhook_info()
        except TelegramError as exc:
            return [found, problem("webhook", f"getWebhookInfo failed: {_short(exc)}", "try again")]
        return [found, _webhook(config, info.url, info.pending_update_count, _last_error(info))]
    finally:
        await bot.shutdown()


def _last_error(info: WebhookInfo) -> tuple[datetime, str] | None:
    when, message = info.last_error_date, info.last_error_message
    if when is None or not message:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)), message


def _webhook(
    config: Config, url: str, pending: int, last_error: tuple[datetime, str] | None
) -> Finding:
    if not config.webhook_url:
        if url:
            return problem(
                "webhook",
                f"a webhook is set ({url}), but this configuration polls: "
                "Telegram will not hand out updates by polling while it is set",
                "if another deployment serves this bot, give this one its own bot "
                "(@BotFather /newbot); if this one should poll, `backcoach run` deletes the "
                f"webhook at start; for webhook mode set BACKCOACH_WEBHOOK_URL={url}",
            )
        return ok("webhook", f"none set (long polling); {pending} updates waiting")
    if not url:
        return problem(
            "webhook",
            "Telegram has no webhook for this bot",
            "`backcoach run` sets it at start: start (or restart) it, and check its log",
        )
    if url != config.webhook_url:
        return problem(
            "webhook",
            f"Telegram delivers to {url}, not to BACKCOACH_WEBHOOK_URL ({config.webhook_url})",
            "another deployment may use this token; restart `backcoach run` here to set the "
            "webhook again, or correct BACKCOACH_WEBHOOK_URL",
        )
    if last_error is not None and datetime.now(UTC) - last_error[0] < RECENT_ERROR:
        when, message = last_error
        return problem(
            "webhook",
            f"Telegram's last delivery to {url} failed at {when:%Y-%m-%d %H:%M} UTC: "
            f"{message}; {pending} updates waiting",
            "check that the reverse proxy forwards this path to BACKCOACH_LISTEN_HOST:"
            f"{config.listen_port}, passes the X-Telegram-Bot-Api-Secret-Token header, "
            "that its certificate is valid, and that /healthz answers",
        )
    if pending >= PENDING_LIMIT:
        return problem(
            "webhook",
            f"{pending} updates are waiting at Telegram",
            "the bot is not taking its updates: is `backcoach run` running and reachable?",
        )
    return ok("webhook", f"set to {url}; {pending} updates waiting")


def _short(exc: BaseException) -> str:
    """The first line of an error, named by its type (SQLAlchemy appends SQL and links)."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
