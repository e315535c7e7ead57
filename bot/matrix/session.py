"""The bot's Matrix device: one nio client, logged in once and then restored.

The device id, access token and the crypto store (Olm account, Megolm sessions) live in
``<data_dir>/matrix``. Keeping the same device across restarts matters twice: people's
clients keep encrypting for the keys they already know, and Synapse makes a send
idempotent per device and transaction id, so a retry after a restart still posts once.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, LoginResponse, WhoamiResponse
from nio.store import SqliteStore

from bot.config import ConfigError
from bot.matrix.settings import MatrixSettings

log = logging.getLogger(__name__)
SESSION_FILE = "session.json"
DEVICE_NAME = "backcoach"


@dataclass(frozen=True)
class Saved:
    user_id: str
    device_id: str
    access_token: str | None  # None when the token comes from MATRIX_ACCESS_TOKEN


def store_dir(data_dir: Path) -> Path:
    return data_dir / "matrix"


def new_client(settings: MatrixSettings, data_dir: Path) -> AsyncClient:
    """A client that is not logged in yet; creating it does no I/O."""
    directory = store_dir(data_dir)
    config = AsyncClientConfig(
        encryption_enabled=True,
        store=SqliteStore,
        # The sync token lives in our database, written after its events are handled.
        store_sync_tokens=False,
        # Hand 429s and network errors back to us: the sender and the sync loop decide
        # when to try again, instead of nio sleeping inside a send for as long as it likes.
        max_limit_exceeded=0,
        max_timeouts=0,
        request_timeout=30,
    )
    return AsyncClient(
        settings.homeserver, settings.user_id, store_path=str(directory), config=config
    )


async def log_in(client: AsyncClient, settings: MatrixSettings, data_dir: Path) -> None:
    """Restore the saved device, or log in by password once and save it."""
    directory = store_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    saved = _read(directory / SESSION_FILE, settings.user_id)
    device_id = settings.device_id or (saved.device_id if saved else None)
    if settings.access_token:
        if device_id is None:
            device_id = await _device_of_token(client, settings.access_token)
        client.restore_login(settings.user_id, device_id, settings.access_token)
        _write(directory / SESSION_FILE, Saved(settings.user_id, device_id, None))
    elif saved is not None and saved.access_token and saved.device_id == device_id:
        client.restore_login(settings.user_id, saved.device_id, saved.access_token)
        if not isinstance(await client.whoami(), WhoamiResponse):
            log.info("the saved Matrix session was refused; logging in again on the same device")
            await _password_login(client, settings, directory, saved.device_id)
    else:
        await _password_login(client, settings, directory, device_id)
    if client.should_upload_keys:
        await client.keys_upload()
    log.info("Matrix: %s on device %s", client.user_id, client.device_id)


async def _password_login(
    client: AsyncClient, settings: MatrixSettings, directory: Path, device_id: str | None
) -> None:
    if not settings.password:
        raise ConfigError("MATRIX_PASSWORD is needed: the saved Matrix session is no longer valid")
    client.device_id = device_id or ""  # nio reuses this device when it is set
    response = await client.login(settings.password, device_name=DEVICE_NAME)
    if not isinstance(response, LoginResponse):
        raise ConfigError(f"Matrix login as {settings.user_id} failed: {response}")
    _write(
        directory / SESSION_FILE,
        Saved(settings.user_id, response.device_id, response.access_token),
    )


async def _device_of_token(client: AsyncClient, token: str) -> str:
    client.access_token = token
    response = await client.whoami()
    if not isinstance(response, WhoamiResponse) or not response.device_id:
        raise ConfigError(
            f"MATRIX_ACCESS_TOKEN was refused or has no device ({response}); "
            "set MATRIX_DEVICE_ID or use MATRIX_PASSWORD"
        )
    return str(response.device_id)


def _read(path: Path, user_id: str) -> Saved | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is unreadable ({exc}); remove it to log in again") from exc
    if data.get("user_id") != user_id:
        return None  # another account's device: never reuse its keys
    return Saved(data["user_id"], data["device_id"], data.get("access_token"))


def _write(path: Path, saved: Saved) -> None:
    # The file holds an access token: readable by the bot's user only.
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(saved.__dict__, out)
    tmp.replace(path)
