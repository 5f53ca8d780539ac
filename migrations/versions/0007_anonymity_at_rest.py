"""anonymity at rest: answers stored by their random id, closed polls keep tallies, not voters

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _store_answers_by_id(rowid=False)
    op.create_table(
        "poll_tallies",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["polls.id"],
            name=op.f("fk_poll_tallies_poll_id_polls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["themes.id"],
            name=op.f("fk_poll_tallies_theme_id_themes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("poll_id", "theme_id", name=op.f("pk_poll_tallies")),
    )
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voters", sa.Integer(), nullable=True))
    # Polls closed before this revision forget their voters now, as a close does from here on.
    op.execute(
        "INSERT INTO poll_tallies (poll_id, theme_id, votes)"
        " SELECT votes.poll_id, votes.theme_id, SUM(votes.count) FROM votes"
        " JOIN polls ON polls.id = votes.poll_id WHERE polls.status = 'closed'"
        " GROUP BY votes.poll_id, votes.theme_id"
    )
    op.execute(
        "UPDATE polls SET voters = (SELECT COUNT(DISTINCT votes.voter_id) FROM votes"
        " WHERE votes.poll_id = polls.id AND votes.count > 0) WHERE status = 'closed'"
    )
    op.execute("DELETE FROM votes WHERE poll_id IN (SELECT id FROM polls WHERE status = 'closed')")


def downgrade() -> None:
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.drop_column("voters")
    op.drop_table("poll_tallies")
    if op.get_bind().dialect.name == "sqlite":
        _store_answers_by_id(rowid=True)


def _store_answers_by_id(*, rowid: bool) -> None:
    """Copy SQLite's answers table into one stored by its random id (WITHOUT ROWID), or back.
    The copy drops the old table, which deletes the theme quotes that point at its rows (the
    foreign keys are on, and cannot be turned off inside the migration's transaction): they
    are kept aside and put back."""
    op.execute("CREATE TEMP TABLE kept_theme_quotes AS SELECT * FROM theme_quotes")
    with op.batch_alter_table(
        "answers", recreate="always", table_kwargs={"sqlite_with_rowid": rowid}
    ):
        pass
    op.execute("INSERT INTO theme_quotes SELECT * FROM kept_theme_quotes")
    op.execute("DROP TABLE kept_theme_quotes")
