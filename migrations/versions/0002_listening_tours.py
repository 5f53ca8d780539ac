"""listening tours: questions, participants, answers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 05:13:12.794009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dm_focus",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("tour_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tour_id"], ["tours.id"], name=op.f("fk_dm_focus_tour_id_tours"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_dm_focus")),
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tour_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "invited",
                "answering",
                "done",
                name="participantstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("current_position", sa.Integer(), nullable=True),
        sa.Column("responded", sa.Boolean(), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tour_id"],
            ["tours.id"],
            name=op.f("fk_participants_tour_id_tours"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
        sa.UniqueConstraint("tour_id", "user_id", name=op.f("uq_participants_tour_id_user_id")),
    )
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participants_team_id_user_id"), ["team_id", "user_id"], unique=False
        )

    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tour_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["tour_id"], ["tours.id"], name=op.f("fk_questions_tour_id_tours"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
        sa.UniqueConstraint("tour_id", "position", name=op.f("uq_questions_tour_id_position")),
    )
    op.create_table(
        "tour_keys",
        sa.Column("tour_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tour_id"], ["tours.id"], name=op.f("fk_tour_keys_tour_id_tours"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tour_id", name=op.f("pk_tour_keys")),
    )
    op.create_table(
        "answers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tour_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("respondent", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("last_message_ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_answers_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tour_id"], ["tours.id"], name=op.f("fk_answers_tour_id_tours"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.UniqueConstraint(
            "question_id", "respondent", name=op.f("uq_answers_question_id_respondent")
        ),
    )
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answers_tour_id"), ["tour_id"], unique=False)

    # Tours made before this revision get UTC, reminders on, and their close instant's date.
    with op.batch_alter_table("tours", schema=None) as batch_op:
        batch_op.add_column(sa.Column("close_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("leader_tz", sa.String(length=64), nullable=False, server_default="UTC")
        )
        batch_op.add_column(
            sa.Column("reminders", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("skipped_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("last_manual_reminder_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_tours_status_closes_at"), ["status", "closes_at"], unique=False
        )
    as_date = "date(closes_at)" if op.get_bind().dialect.name == "sqlite" else "closes_at::date"
    op.execute(f"UPDATE tours SET close_date = {as_date}")  # noqa: S608 - constant SQL
    with op.batch_alter_table("tours", schema=None) as batch_op:
        batch_op.alter_column("close_date", existing_type=sa.Date(), nullable=False)
        for column in ("leader_tz", "reminders", "skipped_count"):
            batch_op.alter_column(column, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("tours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tours_status_closes_at"))
        batch_op.drop_column("closed_at")
        batch_op.drop_column("last_manual_reminder_at")
        batch_op.drop_column("skipped_count")
        batch_op.drop_column("reminders")
        batch_op.drop_column("leader_tz")
        batch_op.drop_column("close_date")

    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answers_tour_id"))

    op.drop_table("answers")
    op.drop_table("tour_keys")
    op.drop_table("questions")
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participants_team_id_user_id"))

    op.drop_table("participants")
    op.drop_table("dm_focus")
