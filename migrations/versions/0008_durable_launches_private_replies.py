"""a launch waits in the tours table for its audience; replies that quote answers are private

A tour is written "launching" with the audience the leader asked for (people and channel) as
soon as the form is valid; a job resolves it with Slack, retrying through rate limits. An outbox
row marked private (a DM reply that may quote the person's answers) has its payload emptied
once it is settled.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tours") as batch:
        batch.add_column(sa.Column("launch_request", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("launch_next_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("launch_attempts", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("private")
    with op.batch_alter_table("tours") as batch:
        batch.drop_column("launch_attempts")
        batch.drop_column("launch_next_at")
        batch.drop_column("launch_request")
