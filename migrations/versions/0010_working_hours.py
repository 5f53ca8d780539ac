"""a tour's working hours: non-urgent DMs reach people only inside this window, in their zone

Each tour keeps the window its DMs are delivered in (minutes after midnight, and the working
days as weekday digits, Monday = 0); existing tours get the default, Monday to Friday
09:00-18:00. A check-in whose owner's Slack status says they are away is recorded as "away"
(the state column is a plain string, so that needs no change here).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tours") as batch:
        batch.add_column(
            sa.Column("work_start_minute", sa.Integer(), nullable=False, server_default="540")
        )
        batch.add_column(
            sa.Column("work_end_minute", sa.Integer(), nullable=False, server_default="1080")
        )
        batch.add_column(
            sa.Column("work_days", sa.String(length=7), nullable=False, server_default="01234")
        )


def downgrade() -> None:
    with op.batch_alter_table("tours") as batch:
        batch.drop_column("work_days")
        batch.drop_column("work_end_minute")
        batch.drop_column("work_start_minute")
