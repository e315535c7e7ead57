"""article reads, digest subscriptions and issues

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "article_reads",
        sa.Column("id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("issue", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_article_reads_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_reads")),
        sa.UniqueConstraint("user_id", "slug", "day", name="uq_article_reads_user_slug_day"),
    )
    op.create_index(op.f("ix_article_reads_user_id"), "article_reads", ["user_id"])
    op.create_index("ix_article_reads_at_slug", "article_reads", ["at", "slug"])
    op.create_table(
        "digest_subscriptions",
        sa.Column("user_id", Id, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_digest_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_digest_subscriptions")),
    )
    op.create_table(
        "digest_issues",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("articles", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_digest_issues")),
    )


def downgrade() -> None:
    op.drop_table("digest_issues")
    op.drop_table("digest_subscriptions")
    op.drop_index("ix_article_reads_at_slug", table_name="article_reads")
    op.drop_index(op.f("ix_article_reads_user_id"), table_name="article_reads")
    op.drop_table("article_reads")
