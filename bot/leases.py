"""Leases: how several workers on one PostgreSQL (``python -m bot.worker``, or replicas)
share the outbox. The sender (``bot.sender``) applies these rules; SQLite has none.

- Claiming takes rows that are due and ``pending``, and ``sending`` rows whose lease
  ran out (their worker died), with ``FOR UPDATE SKIP LOCKED``, so two workers never
  claim the same row at once. A claimed row is ``sending`` with ``leased_by`` = the
  worker's id and ``lease_until`` = the database's now() + ``lease``: the database's
  clock, so the workers' clocks need not agree. A worker claims only as many rows as it
  has free send slots. While a row is being sent its worker renews the lease every
  third of a lease, so a slow send (a file upload) keeps its row; a send still running
  ``MAX_SEND`` after its claim counts as stuck and is not renewed any more.
- A row taken over from an expired lease is sent again: a duplicate is possible only
  for a message the dead worker had in flight (it may have arrived). Takeovers are
  counted in ``taken_over`` and logged.
- Order per address holds across workers: a row is claimed only while no earlier
  (priority, id) due row of its address is pending or awaiting takeover, and no row of
  the address is in flight under a live lease.
- Settling clears the lease. A result other than "sent" is written only while the row
  is still ``sending`` under this worker's lease (a worker whose lease ran out and was
  taken over leaves the row to its new owner); "sent" is always written, it is a fact.
- ``recover()`` at start-up touches only ``sending`` rows with no lease or leased by
  this worker's own id (left by its previous run under the same id: stable ids, e.g. a
  container's hostname, keep the sender's unknown rule). Rows leased by other ids belong to
  live workers, or to dead ones whose leases the claim takes over when they expire; a
  restart under a new id leaves its old rows to that takeover.
- Graceful stop: no new claims; sends in flight finish (``drain``); those still hanging
  after the timeout are cancelled and their leases released (expired at once), so
  another worker takes them over now instead of after the lease.
"""

from __future__ import annotations

import os
import socket
import typing
from typing import Any

from sqlalchemy import Interval, Table, and_, bindparam, exists, func, or_, select, update

from bot.db.models import OutboxRow, UTCDateTime

LEASE_SECONDS = 60.0


def default_worker_id() -> str:
    """``host:pid``: unique among the workers on one machine, and the same after a
    restart in a container (same hostname, pid 1), which keeps the unknown rule there."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def expired(row: Any = OutboxRow) -> Any:
    """A row claimed by a worker whose lease ran out (by the database's clock)."""
    return and_(row.status == "sending", row.lease_until < func.now())


def _claim_statement() -> Any:
    """Lease the rows ``:ids`` that may go now, for ``:lease`` to worker ``:me``; returns
    each claimed id with its status before (``sending``: taken over from an expired lease).

    Built once (a Core statement with parameters): the workers run it many times a second.
    """
    table = typing.cast(Table, OutboxRow.__table__)
    outbox, other = table.c, table.alias("other").c
    now = bindparam("now", type_=UTCDateTime())
    due = or_(and_(outbox.status == "pending", outbox.not_before <= now), expired(outbox))
    earlier = or_(
        other.priority < outbox.priority,
        and_(other.priority == outbox.priority, other.id < outbox.id),
    )
    # An earlier message to the same address that may go, or one in flight: wait for it.
    before_it = exists().where(
        other.address == outbox.address,
        other.status.in_(["pending", "sending"]),
        other.kind == "message",
        other.id != outbox.id,
        or_(
            and_(other.status == "sending", other.lease_until >= func.now()),
            and_(
                earlier,
                or_(and_(other.status == "pending", other.not_before <= now), expired(other)),
            ),
        ),
    )
    free = (
        select(outbox.id, outbox.status.label("was"))
        .where(outbox.id.in_(bindparam("ids", expanding=True)), outbox.kind == "message", due)
        .where(~before_it)
        .with_for_update(skip_locked=True, of=table)
        .cte("free")
    )
    return (
        update(table)
        .where(outbox.id == free.c.id)
        .values(
            status="sending",
            attempts=outbox.attempts + 1,
            lease_until=func.now() + bindparam("lease", type_=Interval()),
            leased_by=bindparam("me"),
        )
        .returning(outbox.id, free.c.was)
    )


CLAIM = _claim_statement()
