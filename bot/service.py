"""``Service.handle``: the one path every message and every due check-in takes.

One lock per conversation; in one transaction: load the state, run the pure dialog
step, save the state, record health data, put the replies in the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import reads, store, subscriptions
from bot.clock import Clock
from bot.db.database import Database
from bot.db.models import OutboxRow
from content.loader import Content
from content.localized import Lang
from dialogs import CheckinDue, Context, Event, Transition, step
from dialogs.actions import (
    ForgetUser,
    RecordConsent,
    RecordPain,
    RecordRead,
    RecordSubscription,
    RecordTriage,
)
from dialogs.context import Intents
from dialogs.states import State

log = logging.getLogger(__name__)
HEALTH_RECORDS = (RecordConsent, RecordTriage, RecordPain)
POPULAR_FOR = timedelta(minutes=5)


@dataclass(frozen=True)
class Defaults:
    lang: Lang = "de"
    tz: str = "Europe/Berlin"


class Service:
    def __init__(
        self,
        db: Database,
        content: Content,
        intents: Intents,
        clock: Clock,
        defaults: Defaults = Defaults(),
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.db, self.content, self.intents, self.clock = db, content, intents, clock
        self.defaults = defaults
        self.on_outbox = on_outbox or (lambda: None)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._popular: tuple[str, ...] = ()
        self._popular_at: datetime | None = None

    def _lock(self, address: str) -> asyncio.Lock:
        lock = self._locks.get(address)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[address] = lock
        return lock

    async def handle(
        self,
        address: str,
        event: Event,
        *,
        lang_hint: Lang | None = None,
        seen: tuple[str, str] | None = None,
    ) -> Transition | None:
        """A person wrote or pressed something: step the dialog and queue the replies.

        ``seen`` is the platform's id of the event, ``(source, key)``: an event already
        handled is skipped (returns None), recorded in the same transaction as the step.
        """
        key_base = f"r:{uuid.uuid4().hex}"
        return await self._process(
            address, event, store.REPLY, key_base, lang_hint=lang_hint, seen=seen
        )

    async def state_of(self, address: str) -> State | None:
        """The stored conversation state of ``address`` (for tools and the demo)."""
        async with self.db.session() as session:
            return (await store.load(session, address, lock=False)).state

    async def run_checkin(self, trigger_id: int) -> Transition | None:
        """Turn a claimed check-in trigger from the outbox into messages, exactly once."""
        async with self.db.session() as session:
            trigger = await session.get(OutboxRow, trigger_id)
            if trigger is None or trigger.status != "pending":
                return None
            address, key = trigger.address, trigger.key
        event = CheckinDue(
            episode=int(trigger.payload["episode"]),
            day=int(trigger.payload["day"]),
            due_at=trigger.not_before,
        )
        return await self._process(address, event, store.CHECKIN, key, trigger_id=trigger_id)

    async def _process(
        self,
        address: str,
        event: Event,
        priority: int,
        key_base: str,
        *,
        lang_hint: Lang | None = None,
        trigger_id: int | None = None,
        seen: tuple[str, str] | None = None,
    ) -> Transition | None:
        async with self._lock(address):
            for attempt in (1, 2):
                try:
                    return await self._transaction(
                        address, event, priority, key_base, lang_hint, trigger_id, seen
                    )
                except IntegrityError:
                    # Another replica created this user at the same moment: load it again.
                    if attempt == 2:
                        raise
                    log.info("retrying a step after a concurrent insert (%s)", address)
            return None

    async def _transaction(
        self,
        address: str,
        event: Event,
        priority: int,
        key_base: str,
        lang_hint: Lang | None,
        trigger_id: int | None,
        seen: tuple[str, str] | None,
    ) -> Transition | None:
        now = self.clock.now()
        is_user_event = trigger_id is None
        async with self.db.session() as session:
            if seen is not None and not await store.first_sight(session, *seen, now):
                return None  # a redelivered update: handled before
            if trigger_id is not None:
                trigger = await session.get(OutboxRow, trigger_id, with_for_update=self._pg)
                if trigger is None or trigger.status != "pending":
                    return None  # another worker got there first
                trigger.status, trigger.sent_at = "done", now
            loaded = await store.load(session, address, lock=self._pg)
            if loaded.user is None and not is_user_event:
                return None
            ctx = Context(
                now=now,
                content=self.content,
                intents=self.intents,
                default_lang=self.defaults.lang,
                default_tz=self.defaults.tz,
                lang_hint=lang_hint,
                popular=await self._most_read(session, now),
            )
            old = loaded.state
            transition = step(old, event, ctx)
            if any(isinstance(a, ForgetUser) for a in transition.actions):
                if loaded.user is not None:
                    await store.forget(session, loaded.user.id)
                self._enqueue(session, None, address, key_base, transition, priority, now)
                log.info("user data erased (%s)", address)
                return transition
            new = transition.state
            # save_user flushes a new user to get its id; the rest is flushed at commit.
            user = await store.save_user(session, loaded, address, new, now)
            if is_user_event:
                user.last_seen_at, user.unreachable = now, False
            for action in transition.actions:  # not health data: kept for everyone
                if isinstance(action, RecordRead):
                    await reads.record(session, user.id, action, now, new.profile.tz)
                elif isinstance(action, RecordSubscription):
                    await subscriptions.record(session, user.id, action, now)
            if new.has_consent:
                for action in transition.actions:
                    if isinstance(action, HEALTH_RECORDS):
                        store.record(session, user.id, action, now)
                await store.save_episode(
                    session, user.id, old.episode if old else None, new.episode, now
                )
            self._enqueue(session, user.id, address, key_base, transition, priority, now)
        self.on_outbox()
        return transition

    def _enqueue(
        self,
        session: AsyncSession,
        user_id: int | None,
        address: str,
        key_base: str,
        transition: Transition,
        priority: int,
        now: datetime,
    ) -> None:
        for index, message in enumerate(transition.messages):
            store.enqueue(
                session,
                user_id=user_id,
                address=address,
                key=f"{key_base}:{index}",
                message=message,
                priority=priority,
                now=now,
            )

    async def _most_read(self, session: AsyncSession, now: datetime) -> tuple[str, ...]:
        """The most-read articles for /articles, recounted every few minutes, not per message."""
        if self._popular_at is None or now - self._popular_at > POPULAR_FOR:
            ranked = await reads.most_read(session, now - reads.WINDOW, now)
            self._popular, self._popular_at = tuple(slug for slug, _ in ranked), now
        return self._popular

    @property
    def _pg(self) -> bool:
        return self.db.dialect == "postgresql"
