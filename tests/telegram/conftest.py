"""Fixtures for tests that talk to the local Bot API server over real HTTP."""

from collections.abc import AsyncIterator

import pytest

from tests.support.telegram_api import FakeTelegramApi


@pytest.fixture
async def telegram_api() -> AsyncIterator[FakeTelegramApi]:
    """A fresh server with Telegram's default limits, started in the test's event loop."""
    async with FakeTelegramApi() as api:
        yield api
