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

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import files, metrics, reads, store, subscriptions
from bot.clock import Clock
from bot.db.database import Database
from bot.db.models import CheckinTrigger, EpisodeRow, TriggerKey
from bot.logs import CONVERSATION
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
    Say,
    SendFile,
)
from dialogs.context import Intents
from dialogs.events import Text, parse_command
from dialogs.states import Profile, State
from dialogs.texts import M

log = logging.getLogger(__name__)
HEALTH_RECORDS = (RecordConsent, RecordTriage, RecordPain)
POPULAR_FOR = timedelta(minutes=5)


@dataclass(frozen=True)
class Defaults:
    lang: Lang = "de"
    tz: str = "Europe/Berlin"
    admins: frozenset[str] = frozenset()  # addresses that may ask for /stats


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
        if address in self.defaults.admins and _is_stats(event):
            return await self._admin_stats(address, key_base)
        return await self._process(
            address, event, store.REPLY, key_base, lang_hint=lang_hint, seen=seen
        )

    async def _admin_stats(self, address: str, key_base: str) -> Transition:
        """/stats for an operator: the same figures as ``backcoach stats``."""
        from bot.stats import collect, stats_table

        now = self.clock.now()
        message = Say(stats_table(await collect(self.db, now)))
        async with self.db.session() as session:
            loaded = await store.load(session, address, lock=False)
            user_id = loaded.user.id if loaded.user is not None else None
            row = store.outbox_row(
                user_id=user_id,
                address=address,
                key=f"{key_base}:stats",
                message=message,
                priority=store.REPLY,
                now=now,
            )
            await store.enqueue(session, [row])
        self.on_outbox()
        state = loaded.state or State(profile=Profile(lang=self.defaults.lang, tz=self.defaults.tz))
        return Transition(state, (message,))

    async def state_of(self, address: str) -> State | None:
        """The stored conversation state of ``address`` (for tools and the demo)."""
        async with self.db.session() as session:
            return (await store.load(session, address, lock=False)).state

    async def run_checkin(self, trigger: TriggerKey) -> Transition | None:
        """Turn a claimed check-in trigger into messages, exactly once."""
        episode_id, day = trigger
        async with self.db.session() as session:
            found = (
                await session.execute(
                    select(CheckinTrigger, EpisodeRow.seq)
                    .outerjoin(EpisodeRow, EpisodeRow.id == CheckinTrigger.episode_id)
                    .where(CheckinTrigger.episode_id == episode_id, CheckinTrigger.day == day)
                )
            ).first()
            if found is None or found[0].status != "pending":
                return None
            row, seq = found
            if seq is None:
                # The episode (or its user) was erased after the claim: nothing to say.
                row.status, row.done_at = "done", self.clock.now()
                return None
            address, key, due_at = row.address, row.key, row.due_at
        metrics.CHECKINS_SENT.inc()
        event = CheckinDue(episode=int(seq), day=day, due_at=due_at)
        return await self._process(address, event, store.CHECKIN, key, trigger=trigger)

    async def _process(
        self,
        address: str,
        event: Event,
        priority: int,
        key_base: str,
        *,
        lang_hint: Lang | None = None,
        trigger: TriggerKey | None = None,
        seen: tuple[str, str] | None = None,
    ) -> Transition | None:
        CONVERSATION.set(address)  # every log line of this step names its conversation
        async with self._lock(address):
            for attempt in (1, 2):
                try:
                    return await self._transaction(
                        address, event, priority, key_base, lang_hint, trigger, seen
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
        trigger: TriggerKey | None,
        seen: tuple[str, str] | None,
    ) -> Transition | None:
        now = self.clock.now()
        is_user_event = trigger is None
        async with self.db.session() as session:
            if seen is not None and not await store.first_sight(session, *seen, now):
                return None  # a redelivered update: handled before
            if trigger is not None:
                row = await session.get(CheckinTrigger, trigger, with_for_update=self._pg)
                if row is None or row.status != "pending":
                    return None  # another worker got there first
                row.status, row.done_at = "done", now
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
                await self._enqueue(session, None, address, key_base, transition, priority, now)
                log.info("user data erased (%s)", address)
                return transition
            new = transition.state
            if _escalated(old, new):
                metrics.ESCALATIONS.inc()
            # save_user flushes a new user to get its id; the rest is flushed at commit.
            user = await store.save_user(session, loaded, address, new, now)
            if is_user_event:
                user.last_seen_at, user.unreachable = now, False
            for action in transition.actions:  # not health data: kept for everyone
                if isinstance(action, RecordRead):
                    await reads.record(session, user.id, action, now, new.profile.tz)
                elif isinstance(action, RecordSubscription):
                    await subscriptions.record(session, user.id, action, now)
            # Health records only with consent; a withdrawal is recorded too, as proof.
            had_consent = old is not None and old.has_consent
            if new.has_consent or had_consent:
                for action in transition.actions:
                    if isinstance(action, HEALTH_RECORDS) and (
                        new.has_consent or isinstance(action, RecordConsent)
                    ):
                        store.record(session, user.id, action, now)
                await store.save_episode(
                    session, user.id, old.episode if old else None, new.episode, now
                )
            await self._enqueue(session, user.id, address, key_base, transition, priority, now)
            await self._send_files(session, user.id, address, key_base, transition, new, now)
        self.on_outbox()
        return transition

    async def _enqueue(
        self,
        session: AsyncSession,
        user_id: int | None,
        address: str,
        key_base: str,
        transition: Transition,
        priority: int,
        now: datetime,
    ) -> None:
        rows = [
            store.outbox_row(
                user_id=user_id,
                address=address,
                key=f"{key_base}:{index}",
                message=message,
                priority=priority,
                now=now,
            )
            for index, message in enumerate(transition.messages)
        ]
        await store.enqueue(session, rows)

    async def _send_files(
        self,
        session: AsyncSession,
        user_id: int,
        address: str,
        key_base: str,
        transition: Transition,
        state: State,
        now: datetime,
    ) -> None:
        """Build the files the step asked for, after its messages (they come later)."""
        requests = [a for a in transition.actions if isinstance(a, SendFile)]
        if not requests:
            return
        await session.flush()  # the export reads what this step just stored
        rows = []
        for number, request in enumerate(requests):
            lang = state.profile.lang
            built = await files.build(session, user_id, request.kind, self.content, lang, now)
            for index, file in enumerate(built):
                key = f"{key_base}:file{number}:{index}"
                name = file.attachment.filename
                refused = self.content.text(M.FILE_UNDELIVERABLE, lang, filename=name)
                rows.append(
                    files.outbox_row(
                        user_id=user_id,
                        address=address,
                        key=key,
                        file=file,
                        now=now,
                        undeliverable=refused,
                    )
                )
        await store.enqueue(session, rows)

    async def _most_read(self, session: AsyncSession, now: datetime) -> tuple[str, ...]:
        """The most-read articles for /articles, recounted every few minutes, not per message."""
        if self._popular_at is None or now - self._popular_at > POPULAR_FOR:
            ranked = await reads.most_read(session, now - reads.WINDOW, now)
            self._popular, self._popular_at = tuple(slug for slug, _ in ranked), now
        return self._popular

    @property
    def _pg(self) -> bool:
        return self.db.dialect == "postgresql"


def _is_stats(event: Event) -> bool:
    command = parse_command(event.text) if isinstance(event, Text) else None
    return command is not None and command.name == "stats"


def _escalated(old: State | None, new: State) -> bool:
    before = old is not None and old.episode is not None and old.episode.escalated
    return new.episode is not None and new.episode.escalated and not before
