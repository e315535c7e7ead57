"""Fixtures for tests against a real Synapse; every test here carries the `matrix` marker.

One server serves the whole session (users are cheap, servers take ~1.5 s); tests keep
apart by registering their own users. A rate-limit test gets its own, strict server.
"""

import functools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from content.loader import Content
from dialogs.intents import Matcher
from tests.matrix.harness import World
from tests.support.synapse import LOW_MESSAGE_RATE, Synapse, SynapseUnavailable, ensure_installed

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "matrix: runs against a real Synapse homeserver")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees every collected test, not only ours: mark just those below HERE.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.matrix)


@functools.cache
def _install_error() -> str | None:
    # Cached: a failed install is tried once per session, not once per fixture.
    try:
        ensure_installed()
    except SynapseUnavailable as exc:
        return str(exc)
    return None


def _require_synapse() -> None:
    """Skip when Synapse cannot be installed here; in CI that is a failure instead."""
    error = _install_error()
    if error is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"Synapse is required in CI: {error}")
    pytest.skip(f"Synapse not available: {error}")


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """The session's homeserver, with rate limits raised far above what tests send."""
    _require_synapse()
    with Synapse(tmp_path_factory.mktemp("synapse")) as server:
        yield server


@pytest.fixture
def strict_synapse(tmp_path: Path) -> Iterator[Synapse]:
    """A separate homeserver that allows only a short burst of messages per user."""
    _require_synapse()
    with Synapse(tmp_path / "synapse", message_rate=LOW_MESSAGE_RATE) as server:
        yield server


@pytest.fixture
async def matrix_world(tmp_path: Path, shipped: tuple[Content, Matcher]) -> AsyncIterator[World]:
    """Starts bots and logs people in on a server; all are stopped after the test."""
    world = World(tmp_path, shipped)
    yield world
    await world.close()
