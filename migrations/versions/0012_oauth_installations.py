"""OAuth installations into several workspaces: installations (tokens encrypted), OAuth states

`slack_installations` holds each install by OAuth (a workspace's, or an Enterprise Grid org's
when `is_enterprise_install`), its tokens and incoming webhook URL as Fernet ciphertext;
`oauth_states` the states GET /slack/install handed out, as HMACs, until they expire;
`workspaces.enterprise_id` the org a team belongs to, through which an org-wide install is found.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_installations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.String(32), nullable=True),
        sa.Column("enterprise_id", sa.String(32), nullable=True),
        sa.Column("enterprise_name", sa.String(200), nullable=True),
        sa.Column("enterprise_url", sa.String(300), nullable=True),
        sa.Column("team_id", sa.String(32), nullable=True),
        sa.Column("team_name", sa.String(200), nullable=True),
        sa.Column("bot_token_ciphertext", sa.Text(), nullable=True),
        sa.Column("bot_id", sa.String(32), nullable=True),
        sa.Column("bot_user_id", sa.String(32), nullable=True),
        sa.Column("bot_scopes", sa.Text(), nullable=True),
        sa.Column("bot_refresh_token_ciphertext", sa.Text(), nullable=True),
        sa.Column("bot_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("user_token_ciphertext", sa.Text(), nullable=True),
        sa.Column("user_scopes", sa.Text(), nullable=True),
        sa.Column("user_refresh_token_ciphertext", sa.Text(), nullable=True),
        sa.Column("user_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("incoming_webhook_url_ciphertext", sa.Text(), nullable=True),
        sa.Column("incoming_webhook_channel", sa.String(200), nullable=True),
        sa.Column("incoming_webhook_channel_id", sa.String(32), nullable=True),
        sa.Column("incoming_webhook_configuration_url", sa.String(300), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("token_type", sa.String(32), nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_installations")),
    )
    op.create_index(
        op.f("ix_slack_installations_enterprise_id_team_id_installed_at"),
        "slack_installations",
        ["enterprise_id", "team_id", "installed_at"],
    )
    op.create_table(
        "oauth_states",
        sa.Column("state_digest", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_digest", name=op.f("pk_oauth_states")),
    )
    op.create_index(op.f("ix_oauth_states_expires_at"), "oauth_states", ["expires_at"])
    op.add_column("workspaces", sa.Column("enterprise_id", sa.String(32), nullable=True))
    op.create_index(op.f("ix_workspaces_enterprise_id"), "workspaces", ["enterprise_id"])


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_index("ix_workspaces_enterprise_id")
        batch.drop_column("enterprise_id")
    op.drop_index(op.f("ix_oauth_states_expires_at"), table_name="oauth_states")
    op.drop_table("oauth_states")
    op.drop_index(
        op.f("ix_slack_installations_enterprise_id_team_id_installed_at"),
        table_name="slack_installations",
    )
    op.drop_table("slack_installations")
