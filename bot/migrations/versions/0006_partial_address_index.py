"""the outbox's address index covers messages only

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGES = sa.text("kind = 'message'")


def upgrade() -> None:
    op.drop_index("ix_outbox_address_status", table_name="outbox")
    op.create_index(
        "ix_outbox_address_status",
        "outbox",
        ["address", "status"],
        postgresql_where=MESSAGES,
        sqlite_where=MESSAGES,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_address_status", table_name="outbox")
    op.create_index("ix_outbox_address_status", "outbox", ["address", "status"])
