"""Runs every benchmark and prints medians; targets are the issue's, on 2-core machines."""

import asyncio
import sys

from benchmarks import checkin_claim, message_latency


async def main() -> None:
    await message_latency.run()
    pg = "--no-postgres" not in sys.argv
    await checkin_claim.run(
        users=int(next((a[8:] for a in sys.argv if a.startswith("--users=")), 100_000)), postgres=pg
    )


asyncio.run(main())
