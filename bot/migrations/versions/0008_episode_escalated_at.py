"""episodes record when they were escalated (for "escalations this week")

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Earlier escalations stay without a time: it was never recorded, and guessing one
    # would make the operator's weekly figure look exact when it is not.
    op.add_column("episodes", sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE (SQLite 3.35+ drops columns), not batch mode: copying the table
    # would drop the old one, and SQLite's foreign keys would cascade that into
    # checkin_schedule.
    op.drop_column("episodes", "escalated_at")
