"""check-ins, weekly quick-wins updates, and loop-closing opt-outs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 07:24:08.034929
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loop_opt_outs",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_loop_opt_outs")),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tour_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tour_id"], ["tours.id"], name=op.f("fk_digests_tour_id_tours"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("tour_id", "period", name=op.f("uq_digests_tour_id_period")),
    )
    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "sent",
                "nudged",
                "answered",
                "missed",
                "skipped",
                "snoozed",
                "on_leave",
                name="checkinstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("nudge_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("missed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiatives.id"],
            name=op.f("fk_checkins_initiative_id_initiatives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        sa.UniqueConstraint(
            "initiative_id", "period", name=op.f("uq_checkins_initiative_id_period")
        ),
    )
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkins_state_missed_at"), ["state", "missed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_checkins_state_nudge_at"), ["state", "nudge_at"], unique=False
        )

    with op.batch_alter_table("initiatives", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_checkin_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("next_period", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("checkin_weekday", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("owner_tz", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("owner_tz_checked_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("zone_check_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("on_leave_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("overdue_asked_for", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_initiatives_status_next_checkin_at"),
            ["status", "next_checkin_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_initiatives_status_zone_check_at"),
            ["status", "zone_check_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_initiatives_status_due_date"), ["status", "due_date"], unique=False
        )

    with op.batch_alter_table("outcome_shapers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("theme_ids", sa.String(length=200), nullable=True))

    with op.batch_alter_table("tours", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_digest_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("digest_weekday", sa.Integer(), server_default="4", nullable=False)
        )
        batch_op.add_column(
            sa.Column("digest_minute", sa.Integer(), server_default="900", nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_tours_next_digest_at"), ["next_digest_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outcome_shapers", schema=None) as batch_op:
        batch_op.drop_column("theme_ids")

    with op.batch_alter_table("tours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tours_next_digest_at"))
        batch_op.drop_column("digest_minute")
        batch_op.drop_column("digest_weekday")
        batch_op.drop_column("next_digest_at")

    with op.batch_alter_table("initiatives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiatives_status_due_date"))
        batch_op.drop_index(batch_op.f("ix_initiatives_status_zone_check_at"))
        batch_op.drop_index(batch_op.f("ix_initiatives_status_next_checkin_at"))
        batch_op.drop_column("done_at")
        batch_op.drop_column("overdue_asked_for")
        batch_op.drop_column("on_leave_until")
        batch_op.drop_column("last_status")
        batch_op.drop_column("zone_check_at")
        batch_op.drop_column("owner_tz_checked_at")
        batch_op.drop_column("owner_tz")
        batch_op.drop_column("checkin_weekday")
        batch_op.drop_column("next_period")
        batch_op.drop_column("next_checkin_at")

    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkins_state_nudge_at"))
        batch_op.drop_index(batch_op.f("ix_checkins_state_missed_at"))

    op.drop_table("checkins")
    op.drop_table("digests")
    op.drop_table("loop_opt_outs")
