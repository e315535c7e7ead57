"""The composition root: the one place that knows the concrete classes and wires them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from bot.clock import Clock
from bot.config import Config
from bot.db.database import Database
from bot.db.models import DigestIssue
from bot.ratelimit import RateLimit
from bot.sender import Sender
from bot.service import Defaults, Service
from bot.transport import Transport
from content.intents import load_intents
from content.loader import Content, load_content
from dialogs.intents import Matcher, compile_rules
from dialogs.spec import REQUIREMENTS
from scheduler import checkins
from scheduler.digest import DigestSettings, run_digest
from scheduler.retention import Counts, Policy, run_retention

log = logging.getLogger(__name__)


def load_all_content(directory: Path) -> tuple[Content, Matcher]:
    """Every content file, validated against what the dialogs need (raises ContentError)."""
    content = load_content(directory, REQUIREMENTS)
    intents = compile_rules(load_intents(directory / "intents.yaml"))
    return content, intents


class Coach:
    """The running bot: database, dialogs, sender and scheduler, for any set of transports."""

    def __init__(
        self,
        config: Config,
        clock: Clock,
        transports: list[Transport],
        content: tuple[Content, Matcher] | None = None,
        *,
        limits: Mapping[str, RateLimit] | None = None,
    ) -> None:
        self.config, self.clock = config, clock
        self.content, self.intents = content or load_all_content(config.content_dir)
        self.db = Database(config.db_url)
        self.sender = Sender(self.db, {t.prefix: t for t in transports}, clock, limits=limits)
        self.service = Service(
            self.db,
            self.content,
            self.intents,
            clock,
            Defaults(lang=config.default_lang, tz=config.default_tz, admins=config.admins),
            on_outbox=self.sender.notify,
        )

    async def start(self) -> None:
        """Bring the schema to head and settle messages a crash left in flight."""
        await self.db.upgrade()
        await self.sender.recover()

    async def tick(self) -> int:
        """Run the check-ins that are due now; the sender delivers what they produce."""
        ran = await checkins.tick(self.db, self.service, self.clock.now())
        self.sender.notify()
        return ran

    async def retention(self) -> Counts:
        """Delete what is past its retention period (the daily job)."""
        policy = Policy(self.config.retention_days, self.config.inactive_days)
        return await run_retention(self.db, self.clock.now(), policy)

    async def digest(self, *, force: bool = False) -> tuple[DigestIssue | None, int]:
        """Plan and queue the digest issue if one is due (``force``: now, in any case)."""
        settings = DigestSettings(
            every=timedelta(days=self.config.digest_days), top=self.config.digest_top
        )
        issue, queued = await run_digest(
            self.db, self.content, self.clock.now(), settings, force=force
        )
        if issue is not None:
            log.info("digest issue %d: %d messages queued", issue.number, queued)
            self.sender.notify()
        return issue, queued

    async def healthy(self) -> bool:
        """The database answers (for /healthz)."""
        try:
            async with self.db.session() as session:
                await session.execute(text("select 1"))
        except Exception:
            log.warning("health check: the database does not answer")
            return False
        return True

    async def close(self) -> None:
        await self.db.dispose()
