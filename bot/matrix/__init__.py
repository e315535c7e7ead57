"""The coach in Matrix direct messages (matrix-nio, end-to-end encryption).

Addresses are ``matrix:<room id>``: the bot joins direct-chat invites only and talks to
the one person in each such room, so a room is one conversation. Wiring::

    settings = matrix.from_env(os.environ)            # None: Matrix not configured
    transport = matrix.build_transport(config, settings)
    coach = Coach(config, clock, [transport, ...])
    await coach.start()
    await matrix.run_matrix(coach, transport, stop)   # returns once ``stop`` is set
"""

from __future__ import annotations

import asyncio
import contextlib

from bot.app import Coach
from bot.config import Config
from bot.matrix.receiver import Receiver
from bot.matrix.settings import MatrixSettings, from_env
from bot.matrix.transport import MatrixTransport

__all__ = ["MatrixSettings", "MatrixTransport", "build_transport", "from_env", "run_matrix"]


def build_transport(config: Config, settings: MatrixSettings) -> MatrixTransport:
    """The transport to hand to ``Coach``; its device and keys live in ``data_dir/matrix``."""
    return MatrixTransport(settings, config.data_dir)


async def run_matrix(coach: Coach, transport: MatrixTransport, stop: asyncio.Event) -> None:
    """Receive Matrix messages until ``stop`` is set; a failed login (ConfigError) raises."""
    receiver = asyncio.create_task(Receiver(coach, transport).run(), name="matrix-sync")
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({receiver, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (receiver, stopping):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopping
        try:
            await receiver
        except asyncio.CancelledError:
            pass
        finally:
            await transport.close()
