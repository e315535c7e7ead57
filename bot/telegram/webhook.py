"""The HTTP side of webhook mode: Telegram's POSTs, and ``/healthz`` for a load balancer.

Our own small aiohttp server instead of PTB's: the secret header is compared in constant
time, and the same server answers the health check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot import metrics

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1 << 20  # an update is a few KB; refuse anything huge before parsing it


def derived_secret(token: str) -> str:
    """A stable secret when none is configured: the same on every replica and restart."""
    return hashlib.sha256(f"backcoach-webhook:{token}".encode()).hexdigest()[:48]


def webhook_path(url: str) -> str:
    return urlsplit(url).path or "/"


def build_server(
    application: Application[Any, Any, Any, Any, Any, Any],
    path: str,
    secret: str,
    healthy: Callable[[], Awaitable[bool]],
) -> web.Application:
    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return web.Response(status=403, text="forbidden")
        try:
            data = json.loads(await request.read())
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="not an update")
        await application.update_queue.put(update)
        return web.Response(text="ok")

    server = ops_server(healthy)
    server.router.add_post(path, receive)
    return server


def ops_server(healthy: Callable[[], Awaitable[bool]]) -> web.Application:
    """``/healthz`` for a load balancer and ``/metrics`` for Prometheus."""

    async def health(_request: web.Request) -> web.Response:
        ok = await healthy()
        return web.json_response({"ok": ok}, status=200 if ok else 503)

    async def scrape(_request: web.Request) -> web.Response:
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = metrics.CONTENT_TYPE
        return response

    server = web.Application(client_max_size=MAX_BODY)
    server.router.add_get("/healthz", health)
    server.router.add_get("/metrics", scrape)
    return server
