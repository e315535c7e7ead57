"""The digest subscription row, kept in step with what the person said in the chat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import DigestSubscription
from dialogs.actions import RecordSubscription


async def record(
    session: AsyncSession, user_id: int, action: RecordSubscription, now: datetime
) -> None:
    """``pending`` when asked, ``active`` once confirmed; unsubscribing deletes the row."""
    if action.status == "off":
        await session.execute(
            delete(DigestSubscription).where(DigestSubscription.user_id == user_id)
        )
        return
    row = await session.get(DigestSubscription, user_id)
    if row is None:
        row = DigestSubscription(user_id=user_id, status="pending", asked_at=now)
        session.add(row)
    if action.status == "on" and row.status != "active":
        row.status, row.confirmed_at = "active", now
