"""Settings from the environment (and an optional .env-style file), with safe defaults."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from content.loader import CONTENT_DIR
from content.localized import LANGS, Lang

# What Telegram accepts as a webhook secret token.
SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ConfigError(Exception):
    """A setting has a value the bot cannot use; the message says which and why."""


@dataclass(frozen=True)
class Config:
    data_dir: Path = Path("data")
    database_url: str = ""
    content_dir: Path = CONTENT_DIR
    default_lang: Lang = "de"
    default_tz: str = "Europe/Berlin"
    tick_seconds: float = 60.0
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one JSON object per line
    telegram_token: str | None = field(default=None, repr=False)
    telegram_base_url: str = ""  # empty: Telegram's own Bot API server
    telegram_rate: float = 30.0  # messages per second over all chats
    webhook_url: str = ""  # empty: long polling
    webhook_secret: str = field(default="", repr=False)
    listen_host: str = "0.0.0.0"
    listen_port: int = 8080
    metrics_port: int | None = None  # polling mode: serve /healthz and /metrics here
    retention_days: int = 180  # closed episodes (answers, scores) are deleted after this
    inactive_days: int = 365  # users silent this long are deleted with all their data
    admins: frozenset[str] = frozenset()  # addresses (telegram:<id>, matrix:<room>) for /stats
    digest_days: int = 14  # one digest issue every so many days
    digest_top: int = 3  # articles per issue

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'backcoach.sqlite3'}"


def load_config(env: dict[str, str] | None = None) -> Config:
    """Read BACKCOACH_* settings; raise ConfigError naming the setting on a bad value."""
    env = dict(os.environ if env is None else env)
    lang = env.get("BACKCOACH_LANG", "de")
    if lang not in LANGS:
        raise ConfigError(f"BACKCOACH_LANG must be one of {', '.join(LANGS)}, not {lang!r}")
    tz = env.get("BACKCOACH_TZ", "Europe/Berlin")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"BACKCOACH_TZ is not a known time zone: {tz!r}") from None
    try:
        tick = float(env.get("BACKCOACH_TICK_SECONDS", "60"))
    except ValueError:
        raise ConfigError("BACKCOACH_TICK_SECONDS must be a number of seconds") from None
    if tick <= 0:
        raise ConfigError("BACKCOACH_TICK_SECONDS must be positive")
    rate = _number(env, "TELEGRAM_MAX_PER_SECOND", "30")
    port = int(_number(env, "BACKCOACH_LISTEN_PORT", "8080"))
    if not 0 < port < 65536:
        raise ConfigError("BACKCOACH_LISTEN_PORT must be a port number (1-65535)")
    log_format = env.get("BACKCOACH_LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in ("text", "json"):
        raise ConfigError(f"BACKCOACH_LOG_FORMAT must be text or json, not {log_format!r}")
    webhook_url = env.get("BACKCOACH_WEBHOOK_URL", "")
    if webhook_url and not webhook_url.startswith("https://"):
        raise ConfigError("BACKCOACH_WEBHOOK_URL must be an https:// address Telegram can reach")
    secret = env.get("BACKCOACH_WEBHOOK_SECRET", "")
    if secret and not SECRET.fullmatch(secret):
        raise ConfigError(
            "BACKCOACH_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )
    return Config(
        data_dir=Path(env.get("BACKCOACH_DATA_DIR", "data")),
        database_url=env.get("BACKCOACH_DATABASE_URL", ""),
        content_dir=Path(env.get("BACKCOACH_CONTENT_DIR", str(CONTENT_DIR))),
        default_lang=lang,  # checked against LANGS above
        default_tz=tz,
        tick_seconds=tick,
        log_level=env.get("BACKCOACH_LOG_LEVEL", "INFO").upper(),
        log_format=log_format,
        telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
        telegram_base_url=env.get("TELEGRAM_BASE_URL", ""),
        telegram_rate=rate,
        webhook_url=webhook_url,
        webhook_secret=secret,
        listen_host=env.get("BACKCOACH_LISTEN_HOST", "0.0.0.0"),
        listen_port=port,
        metrics_port=_port(env, "BACKCOACH_METRICS_PORT"),
        retention_days=_days(env, "BACKCOACH_RETENTION_DAYS", 180),
        inactive_days=_days(env, "BACKCOACH_INACTIVE_DAYS", 365),
        admins=frozenset(
            a.strip() for a in env.get("BACKCOACH_ADMINS", "").split(",") if a.strip()
        ),
        digest_days=_days(env, "BACKCOACH_DIGEST_DAYS", 14),
        digest_top=_days(env, "BACKCOACH_DIGEST_ARTICLES", 3),
    )


def _port(env: dict[str, str], name: str) -> int | None:
    if not env.get(name):
        return None
    port = int(_number(env, name, "0"))
    if not 0 < port < 65536:
        raise ConfigError(f"{name} must be a port number (1-65535)")
    return port


def _number(env: dict[str, str], name: str, default: str) -> float:
    try:
        value = float(env.get(name, default))
    except ValueError:
        raise ConfigError(f"{name} must be a number") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive")
    return value


def _days(env: dict[str, str], name: str, default: int) -> int:
    try:
        value = int(env.get(name, str(default)))
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of days") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1 day")
    return value
