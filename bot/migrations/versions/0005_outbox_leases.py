"""outbox leases: several workers share one outbox on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("leased_by", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_outbox_address_status", ["address", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_address_status")
        batch_op.drop_column("leased_by")
        batch_op.drop_column("lease_until")
