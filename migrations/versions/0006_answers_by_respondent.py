"""index answers by (tour, respondent): a DM answer reads the person's answers in a tour

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 10:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The new index starts with tour_id, so it serves every query the old one did.
    op.create_index("ix_answers_tour_id_respondent", "answers", ["tour_id", "respondent"])
    op.drop_index("ix_answers_tour_id", table_name="answers")


def downgrade() -> None:
    op.create_index("ix_answers_tour_id", "answers", ["tour_id"])
    op.drop_index("ix_answers_tour_id_respondent", table_name="answers")
