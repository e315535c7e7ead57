"""A file for a Matrix room: its bytes go to the media repository, then an event names them.

In an encrypted room the bytes are encrypted before they leave (the server stores
ciphertext only) and the event carries the key in its ``file`` object, itself encrypted
with the rest of the event; in a plain room the event carries the ``url``.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from typing import Any

from nio import AsyncClient, UploadError, UploadResponse

from bot.transport import Attachment

# nio uploads without a timeout; a stalled upload must not hold the person's queue forever
# (the sender renews the lease of a send in flight, up to bot.sender.MAX_SEND).
UPLOAD_TIMEOUT_S = 40.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Uploaded:
    url: str  # mxc://…
    keys: dict[str, Any] | None  # how to decrypt it; None for a plain upload


async def upload(
    client: AsyncClient, attachment: Attachment, *, encrypt: bool
) -> Uploaded | UploadError:
    """Upload the bytes; a retried message uploads them again (an orphan upload is harmless)."""
    data = attachment.data
    response, keys = await asyncio.wait_for(
        client.upload(
            lambda _throttled, _timeouts: data,
            content_type=attachment.mime,
            filename=attachment.filename,
            encrypt=encrypt,
            filesize=len(data),
        ),
        UPLOAD_TIMEOUT_S,
    )
    if isinstance(response, UploadResponse):
        return Uploaded(response.content_uri, keys if encrypt else None)
    return response


def content(attachment: Attachment, uploaded: Uploaded) -> dict[str, Any]:
    """The ``m.image`` or ``m.file`` event; its body is the file name, as clients show it."""
    info: dict[str, Any] = {"mimetype": attachment.mime, "size": len(attachment.data)}
    size = png_size(attachment.data) if attachment.is_image else None
    if size is not None:
        # Lets clients reserve the picture's space before it has loaded.
        info["w"], info["h"] = size
    event: dict[str, Any] = {
        "msgtype": "m.image" if attachment.is_image else "m.file",
        "body": attachment.filename,
        "filename": attachment.filename,
        "info": info,
    }
    if uploaded.keys is None:
        event["url"] = uploaded.url
    else:
        event["file"] = {**uploaded.keys, "url": uploaded.url}
    return event


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's header (IHDR is always the first chunk), else None."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)
