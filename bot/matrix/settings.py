"""Matrix settings from the environment: who the bot is and whom it talks to.

MATRIX_HOMESERVER       https://matrix.example.org (the client API base URL)
MATRIX_USER_ID          @backcoach:example.org
MATRIX_PASSWORD         logs in once; the session is kept in the data directory
MATRIX_ACCESS_TOKEN     ... or an existing token instead of the password
MATRIX_DEVICE_ID        optional: the device to use (default: the saved or a new one)
MATRIX_ALLOWED_SERVERS  optional comma list: accept invites only from these servers
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.config import ConfigError

# @localpart:server, where the server may carry a port (the spec's grammar, loosely).
USER_ID = re.compile(r"@[a-z0-9._=/+-]+:([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?")
SERVER_NAME = re.compile(r"([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?")


@dataclass(frozen=True)
class MatrixSettings:
    homeserver: str
    user_id: str
    password: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    device_id: str | None = None
    allowed_servers: frozenset[str] = frozenset()  # empty: invites from anywhere

    def allows(self, user_id: str) -> bool:
        """May this user (an inviter) start a conversation?"""
        return not self.allowed_servers or server_of(user_id).lower() in self.allowed_servers


def server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def from_env(env: Mapping[str, str]) -> MatrixSettings | None:
    """The settings, or None when Matrix is not configured (no MATRIX_HOMESERVER)."""
    homeserver = env.get("MATRIX_HOMESERVER", "").strip()
    if not homeserver:
        return None
    url = urlsplit(homeserver)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ConfigError(f"MATRIX_HOMESERVER must be an http(s):// address, not {homeserver!r}")
    user_id = env.get("MATRIX_USER_ID", "").strip()
    if not USER_ID.fullmatch(user_id):
        raise ConfigError(
            f"MATRIX_USER_ID must be a full Matrix id like @backcoach:example.org, not {user_id!r}"
        )
    password = env.get("MATRIX_PASSWORD") or None
    token = env.get("MATRIX_ACCESS_TOKEN") or None
    if password is None and token is None:
        raise ConfigError("Matrix needs MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN")
    device_id = env.get("MATRIX_DEVICE_ID", "").strip() or None
    if device_id is not None and not device_id.isprintable():
        raise ConfigError("MATRIX_DEVICE_ID must be printable text")
    servers = frozenset(
        s.strip().lower() for s in env.get("MATRIX_ALLOWED_SERVERS", "").split(",") if s.strip()
    )
    bad = sorted(s for s in servers if not SERVER_NAME.fullmatch(s))
    if bad:
        raise ConfigError(
            "MATRIX_ALLOWED_SERVERS must be server names like example.org, "
            f"separated by commas; not {', '.join(map(repr, bad))}"
        )
    return MatrixSettings(
        homeserver=homeserver.rstrip("/"),
        user_id=user_id,
        password=password,
        access_token=token,
        device_id=device_id,
        allowed_servers=servers,
    )
