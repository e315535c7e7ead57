"""check-ins get their own narrow tables: the schedule the tick claims from, and triggers

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 05:40:00

Who is due moves from the indexed ``episodes.next_checkin_at`` to ``checkin_schedule``
(claiming deletes a row there instead of updating the wide episode row), and claimed
check-ins move from outbox rows of kind ``checkin`` to ``checkin_triggers`` (primary
key = the unique key, no foreign key). Existing rows are carried over both ways.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)

outbox = sa.table(
    "outbox",
    sa.column("id", Id),
    sa.column("key", sa.String),
    sa.column("user_id", Id),
    sa.column("address", sa.String),
    sa.column("kind", sa.String),
    sa.column("payload", sa.JSON),
    sa.column("priority", sa.Integer),
    sa.column("status", sa.String),
    sa.column("not_before", When),
    sa.column("attempts", sa.Integer),
    sa.column("created_at", When),
    sa.column("sent_at", When),
)
episodes = sa.table(
    "episodes",
    sa.column("id", Id),
    sa.column("user_id", Id),
    sa.column("seq", sa.Integer),
    sa.column("status", sa.String),
    sa.column("next_checkin_at", When),
    sa.column("next_checkin_day", sa.Integer),
)
CHECKIN_PRIORITY = 2  # bot.store.CHECKIN when this migration was written


def upgrade() -> None:
    schedule = op.create_table(
        "checkin_schedule",
        sa.Column("episode_id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("due_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["episodes.id"],
            name=op.f("fk_checkin_schedule_episode_id_episodes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_checkin_schedule_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("episode_id", name=op.f("pk_checkin_schedule")),
    )
    op.create_index("ix_checkin_schedule_due_at", "checkin_schedule", ["due_at"])
    op.create_index("ix_checkin_schedule_user_id", "checkin_schedule", ["user_id"])
    triggers = op.create_table(
        "checkin_triggers",
        sa.Column("episode_id", Id, nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("due_at", When, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("done_at", When, nullable=True),
        sa.PrimaryKeyConstraint("episode_id", "day", name=op.f("pk_checkin_triggers")),
    )
    op.create_index(
        "ix_checkin_triggers_pending",
        "checkin_triggers",
        ["due_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.execute(
        schedule.insert().from_select(
            ["episode_id", "user_id", "day", "due_at"],
            sa.select(
                episodes.c.id,
                episodes.c.user_id,
                episodes.c.next_checkin_day,
                episodes.c.next_checkin_at,
            ).where(
                episodes.c.status == "active",
                episodes.c.next_checkin_at.is_not(None),
                episodes.c.next_checkin_day.is_not(None),
            ),
        )
    )
    bind = op.get_bind()
    old = bind.execute(
        sa.select(
            outbox.c.key,
            outbox.c.address,
            outbox.c.not_before,
            outbox.c.status,
            outbox.c.created_at,
            outbox.c.sent_at,
        ).where(outbox.c.kind == "checkin")
    ).all()
    rows = []
    for key, address, due_at, status, created_at, sent_at in old:
        _, episode_id, day = key.split(":")
        pending = status == "pending"
        rows.append(
            {
                "episode_id": int(episode_id),
                "day": int(day),
                "address": address,
                "due_at": due_at,
                "status": "pending" if pending else "done",
                "created_at": created_at,
                "done_at": None if pending else (sent_at or created_at),
            }
        )
    if rows:
        op.bulk_insert(triggers, rows)
    op.execute(outbox.delete().where(outbox.c.kind == "checkin"))
    op.drop_index("ix_episodes_next_checkin_at", table_name="episodes")


def downgrade() -> None:
    op.create_index("ix_episodes_next_checkin_at", "episodes", ["next_checkin_at"])
    bind = op.get_bind()
    triggers = sa.table(
        "checkin_triggers",
        sa.column("episode_id", Id),
        sa.column("day", sa.Integer),
        sa.column("address", sa.String),
        sa.column("due_at", When),
        sa.column("status", sa.String),
        sa.column("created_at", When),
        sa.column("done_at", When),
    )
    old = bind.execute(
        sa.select(triggers, episodes.c.user_id, episodes.c.seq).join(
            episodes, episodes.c.id == triggers.c.episode_id
        )
    ).all()
    rows = [
        {
            "key": f"checkin:{row.episode_id}:{row.day}",
            "user_id": row.user_id,
            "address": row.address,
            "kind": "checkin",
            "payload": {"episode": row.seq, "day": row.day},
            "priority": CHECKIN_PRIORITY,
            "status": row.status,
            "not_before": row.due_at,
            "attempts": 0,
            "created_at": row.created_at,
            "sent_at": row.done_at,
        }
        for row in old
    ]
    if rows:
        bind.execute(outbox.insert(), rows)
    # A claimed episode had no next_checkin_at before 0007; its pending trigger now
    # stands for it. The others keep the schedule's time.
    schedule = sa.table("checkin_schedule", sa.column("episode_id", Id))
    op.execute(
        episodes.update()
        .where(episodes.c.id.not_in(sa.select(schedule.c.episode_id)))
        .values(next_checkin_at=None)
    )
    op.drop_index("ix_checkin_triggers_pending", table_name="checkin_triggers")
    op.drop_table("checkin_triggers")
    op.drop_index("ix_checkin_schedule_user_id", table_name="checkin_schedule")
    op.drop_index("ix_checkin_schedule_due_at", table_name="checkin_schedule")
    op.drop_table("checkin_schedule")
