"""moderation and leader controls: hidden answers, a quote floor, co-leaders, cancelled tours

An answer can be hidden by the leader with a reason (left out of themes, quotes, exports and
counts); a tour keeps the number of answers from which verbatim words are shown; a tour may have
co-leaders; a cancelled tour keeps only how many were asked and how many answered.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch copy: on SQLite `answers` is WITHOUT ROWID, which a batch
    # table rebuild would not keep.
    op.add_column(
        "answers", sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("answers", sa.Column("hidden_reason", sa.String(length=300), nullable=True))
    op.add_column(
        "tours",
        sa.Column("quote_min_responses", sa.Integer(), nullable=False, server_default="5"),
    )
    op.add_column("tours", sa.Column("asked_count", sa.Integer(), nullable=True))
    op.add_column("tours", sa.Column("answered_count", sa.Integer(), nullable=True))
    op.create_table(
        "tour_co_leaders",
        sa.Column("tour_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["tour_id"],
            ["tours.id"],
            name=op.f("fk_tour_co_leaders_tour_id_tours"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tour_id", "user_id", name=op.f("pk_tour_co_leaders")),
    )


def downgrade() -> None:
    op.drop_table("tour_co_leaders")
    with op.batch_alter_table("tours") as batch:
        batch.drop_column("answered_count")
        batch.drop_column("asked_count")
        batch.drop_column("quote_min_responses")
    op.drop_column("answers", "hidden_reason")
    op.drop_column("answers", "hidden")
