"""Settings from the environment (and an optional .env-style file), with safe defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from content.loader import CONTENT_DIR
from content.localized import LANGS, Lang


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
    telegram_token: str | None = field(default=None, repr=False)

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
    return Config(
        data_dir=Path(env.get("BACKCOACH_DATA_DIR", "data")),
        database_url=env.get("BACKCOACH_DATABASE_URL", ""),
        content_dir=Path(env.get("BACKCOACH_CONTENT_DIR", str(CONTENT_DIR))),
        default_lang=lang,  # checked against LANGS above
        default_tz=tz,
        tick_seconds=tick,
        log_level=env.get("BACKCOACH_LOG_LEVEL", "INFO").upper(),
        telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
    )
