"""workspaces hold a revoked team's outbox; sent outbox payloads are purged after a retention

A `workspaces` row per team says whether Slack revoked the bot there (app_uninstalled,
tokens_revoked): the outbox keeps that team's rows unsent until a re-install. A sent outbox
row's payload is emptied OUTBOX_RETENTION_DAYS after it was sent (`payload_purged_at` says
when; the index finds the rows still to purge).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name="pk_workspaces"),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("payload_purged_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(
            "ix_outbox_status_payload_purged_at_sent_at",
            ["status", "payload_purged_at", "sent_at"],
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_status_payload_purged_at_sent_at")
        batch.drop_column("payload_purged_at")
    op.drop_table("workspaces")
