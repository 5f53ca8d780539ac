"""outcomes and initiatives

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 06:34:19.231653
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outcome_shapers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tour_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tour_id"],
            ["tours.id"],
            name=op.f("fk_outcome_shapers_tour_id_tours"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_shapers")),
        sa.UniqueConstraint("tour_id", "user_id", name=op.f("uq_outcome_shapers_tour_id_user_id")),
    )
    op.create_table(
        "outcome_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tour_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["themes.id"],
            name=op.f("fk_outcome_proposals_theme_id_themes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tour_id"],
            ["tours.id"],
            name=op.f("fk_outcome_proposals_tour_id_tours"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_proposals")),
    )
    with op.batch_alter_table("outcome_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outcome_proposals_theme_id"), ["theme_id"], unique=False
        )

    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tour_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("partner", sa.String(length=150), nullable=False),
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["themes.id"],
            name=op.f("fk_outcomes_theme_id_themes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tour_id"], ["tours.id"], name=op.f("fk_outcomes_tour_id_tours"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
        sa.UniqueConstraint("theme_id", name=op.f("uq_outcomes_theme_id")),
    )
    op.create_table(
        "initiatives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tour_id", sa.Integer(), nullable=False),
        sa.Column("outcome_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=150), nullable=False),
        sa.Column("implications", sa.Text(), nullable=False),
        sa.Column("tracking", sa.Text(), nullable=False),
        sa.Column("first_quick_win", sa.Text(), nullable=True),
        sa.Column("proposer_id", sa.String(length=32), nullable=False),
        sa.Column("suggested_owner_id", sa.String(length=32), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "offered",
                "accepted",
                "declined",
                "done",
                "closed",
                name="initiativestatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("cadence_weeks", sa.Integer(), nullable=False),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["outcome_id"],
            ["outcomes.id"],
            name=op.f("fk_initiatives_outcome_id_outcomes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tour_id"], ["tours.id"], name=op.f("fk_initiatives_tour_id_tours"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initiatives")),
    )
    with op.batch_alter_table("initiatives", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_initiatives_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_initiatives_tour_id_status"), ["tour_id", "status"], unique=False
        )

    op.create_table(
        "initiative_backings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiatives.id"],
            name=op.f("fk_initiative_backings_initiative_id_initiatives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initiative_backings")),
        sa.UniqueConstraint(
            "initiative_id", "user_id", name=op.f("uq_initiative_backings_initiative_id_user_id")
        ),
    )
    op.create_table(
        "quick_wins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiatives.id"],
            name=op.f("fk_quick_wins_initiative_id_initiatives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quick_wins")),
    )
    with op.batch_alter_table("quick_wins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quick_wins_initiative_id_logged_at"),
            ["initiative_id", "logged_at"],
            unique=False,
        )

    with op.batch_alter_table("reflections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcomes_matter", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("ways", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("possible", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("letting_go_offered_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("reflections", schema=None) as batch_op:
        batch_op.drop_column("letting_go_offered_at")
        batch_op.drop_column("possible")
        batch_op.drop_column("ways")
        batch_op.drop_column("outcomes_matter")

    with op.batch_alter_table("quick_wins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quick_wins_initiative_id_logged_at"))

    op.drop_table("quick_wins")
    op.drop_table("initiative_backings")
    with op.batch_alter_table("initiatives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiatives_tour_id_status"))
        batch_op.drop_index(batch_op.f("ix_initiatives_owner_id"))

    op.drop_table("initiatives")
    op.drop_table("outcomes")
    with op.batch_alter_table("outcome_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_proposals_theme_id"))

    op.drop_table("outcome_proposals")
    op.drop_table("outcome_shapers")
