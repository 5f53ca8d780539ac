"""Moderation queries and writes: hiding an answer, the answers a leader may pick from, and
who is told. Never commits."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Answer, Participant, Question, Theme, ThemeQuote


async def answer_in_tour(
    session: AsyncSession, *, tour_id: int, answer_id: str
) -> tuple[Answer, str] | None:
    """The answer (locked) and its question's text, if it belongs to this tour."""
    statement = (
        select(Answer, Question.text)
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.id == answer_id, Answer.tour_id == tour_id)
        .with_for_update(of=Answer)
    )
    row = (await session.execute(statement)).first()
    return (row[0], row[1]) if row else None


async def shown_answers(session: AsyncSession, *, tour_id: int) -> list[tuple[str, int, str]]:
    """(answer id, question position, text) of the answers not hidden, in the order the answers
    page and the export list them: by question, then by the answer's random id."""
    statement = (
        select(Answer.id, Question.position, Answer.text)
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.tour_id == tour_id, Answer.hidden.is_(False))
        .order_by(Question.position, Answer.id)
    )
    return [(row[0], row[1], row[2]) for row in (await session.execute(statement)).all()]


async def hide(session: AsyncSession, *, answer: Answer, reason: str) -> None:
    """Hide the answer; a theme that quotes it counts one answer fewer. (Which theme an
    unquoted answer was grouped into is not kept, so its count stays: see THREAT-MODEL.md.)"""
    answer.hidden = True
    answer.hidden_reason = reason
    quoting = select(ThemeQuote.theme_id).where(ThemeQuote.answer_id == answer.id)
    await session.execute(
        update(Theme)
        .where(Theme.id.in_(quoting), Theme.answer_count > 0)
        .values(answer_count=Theme.answer_count - 1)
    )


async def asked(session: AsyncSession, *, tour_id: int) -> list[str]:
    statement = select(Participant.user_id).where(Participant.tour_id == tour_id)
    return list((await session.scalars(statement)).all())


async def answered(session: AsyncSession, *, tour_id: int) -> list[str]:
    """Everyone who answered (participation is known; whose answer is which is not)."""
    statement = select(Participant.user_id).where(
        Participant.tour_id == tour_id, Participant.responded.is_(True)
    )
    return list((await session.scalars(statement)).all())
