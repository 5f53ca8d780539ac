"""Tour queries and writes: tours, their questions, participants, answers and keys."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Answer,
    DmFocus,
    Participant,
    ParticipantStatus,
    Question,
    Tour,
    TourKey,
    TourStatus,
)
from bot.store.inserts import table_of, upsert, upsert_many


async def list_tours(session: AsyncSession, *, team_id: str | None = None) -> Sequence[Tour]:
    statement = select(Tour).order_by(Tour.id)
    if team_id is not None:
        statement = statement.where(Tour.team_id == team_id)
    return (await session.scalars(statement)).all()


async def get_tour(
    session: AsyncSession, *, tour_id: int, team_id: str | None = None, lock: bool = False
) -> Tour | None:
    statement = select(Tour).where(Tour.id == tour_id)
    if team_id is not None:
        statement = statement.where(Tour.team_id == team_id)
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def tours_led_by(
    session: AsyncSession, *, team_id: str, leader_id: str, limit: int = 50
) -> Sequence[Tour]:
    statement = (
        select(Tour)
        .where(Tour.team_id == team_id, Tour.leader_id == leader_id)
        .order_by(Tour.id.desc())
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


@dataclass(frozen=True)
class NewTour:
    team_id: str
    enterprise_id: str | None
    leader_id: str
    title: str
    channel_id: str
    anonymous: bool
    min_responses: int
    close_date: date
    closes_at: datetime
    leader_tz: str
    reminders: bool
    questions: Sequence[str]
    invitees: Sequence[tuple[str, str]]  # (user id, time zone)
    skipped: int


async def create_tour(session: AsyncSession, new: NewTour, *, now: datetime) -> Tour:
    """The tour, its questions and participants (each about to be asked question 1), and for
    an anonymous tour the secret its respondent keys are made with."""
    tour = Tour(
        team_id=new.team_id,
        enterprise_id=new.enterprise_id,
        leader_id=new.leader_id,
        title=new.title,
        channel_id=new.channel_id,
        anonymous=new.anonymous,
        min_responses=new.min_responses,
        status=TourStatus.OPEN,
        opens_at=now,
        closes_at=new.closes_at,
        created_at=now,
        close_date=new.close_date,
        leader_tz=new.leader_tz,
        reminders=new.reminders,
        skipped_count=new.skipped,
    )
    session.add(tour)
    await session.flush()
    session.add_all(
        Question(tour_id=tour.id, position=position, text=text)
        for position, text in enumerate(new.questions)
    )
    add_participants(session, tour=tour, invitees=new.invitees)
    if new.anonymous:
        session.add(TourKey(tour_id=tour.id, secret=secrets.token_hex(32)))
    await session.flush()
    return tour


def add_participants(
    session: AsyncSession, *, tour: Tour, invitees: Sequence[tuple[str, str]]
) -> None:
    """Everyone invited, each about to be asked question 1 ((user id, time zone) pairs)."""
    session.add_all(
        Participant(
            tour_id=tour.id,
            team_id=tour.team_id,
            user_id=user_id,
            tz=tz,
            status=ParticipantStatus.INVITED,
            current_position=0,
            responded=False,
            reminders_sent=0,
        )
        for user_id, tz in invitees
    )


async def launches_due(session: AsyncSession, *, now: datetime) -> list[int]:
    """Tours submitted whose audience is due to be worked out with Slack (again)."""
    statement = (
        select(Tour.id)
        .where(Tour.status == TourStatus.LAUNCHING, Tour.launch_next_at <= now)
        .order_by(Tour.launch_next_at, Tour.id)
    )
    return list((await session.scalars(statement)).all())


async def next_launch_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(Tour.launch_next_at)).where(Tour.status == TourStatus.LAUNCHING)
    )


# The reads and writes of every DM answer are built once, with their values as parameters:
# building a statement and its cache key costs about as much as running it on SQLite.
_QUESTIONS = (
    select(Question).where(Question.tour_id == bindparam("tour_id")).order_by(Question.position)
)
_PARTICIPANT = select(Participant).where(
    Participant.tour_id == bindparam("tour_id"), Participant.user_id == bindparam("user_id")
)
_PARTICIPANT_LOCKED = _PARTICIPANT.with_for_update()


async def questions_of(session: AsyncSession, *, tour_id: int) -> list[Question]:
    return list((await session.scalars(_QUESTIONS, {"tour_id": tour_id})).all())


async def get_participant(
    session: AsyncSession, *, tour_id: int, user_id: str, lock: bool = False
) -> Participant | None:
    statement = _PARTICIPANT_LOCKED if lock else _PARTICIPANT
    return await session.scalar(statement, {"tour_id": tour_id, "user_id": user_id})


def open_tours_asked(*columns: Any) -> Select[Any]:
    """`columns` of the open tours a person (`team_id`, `user_id`) was asked to answer, newest
    first; their Participant row is joined in."""
    return (
        select(*columns)
        .join(Participant, Participant.tour_id == Tour.id)
        .where(
            Participant.team_id == bindparam("team_id"),
            Participant.user_id == bindparam("user_id"),
            Tour.status == TourStatus.OPEN,
        )
        .order_by(Tour.id.desc())
    )


_OPEN_TOURS = open_tours_asked(Tour)


async def open_tours_for(session: AsyncSession, *, team_id: str, user_id: str) -> list[Tour]:
    """Open tours this person was asked to answer, newest first."""
    found = await session.scalars(_OPEN_TOURS, {"team_id": team_id, "user_id": user_id})
    return list(found.all())


async def awaiting_answer(session: AsyncSession, *, team_id: str, user_id: str) -> bool:
    """Whether an open tour is in the middle of asking this person its questions."""
    found = await session.scalar(
        select(Participant.id)
        .join(Tour, Tour.id == Participant.tour_id)
        .where(
            Participant.team_id == team_id,
            Participant.user_id == user_id,
            Participant.current_position.is_not(None),
            Tour.status == TourStatus.OPEN,
        )
        .limit(1)
    )
    return found is not None


async def latest_tour_for(session: AsyncSession, *, team_id: str, user_id: str) -> Tour | None:
    statement = (
        select(Tour)
        .join(Participant, Participant.tour_id == Tour.id)
        .where(Participant.team_id == team_id, Participant.user_id == user_id)
        .order_by(Tour.id.desc())
        .limit(1)
    )
    return await session.scalar(statement)


_FOCUS = select(DmFocus.tour_id).where(
    DmFocus.team_id == bindparam("team_id"), DmFocus.user_id == bindparam("user_id")
)


async def focused_tour_id(session: AsyncSession, *, team_id: str, user_id: str) -> int | None:
    return await session.scalar(_FOCUS, {"team_id": team_id, "user_id": user_id})


async def set_focus_many(
    session: AsyncSession, *, team_id: str, user_ids: Sequence[str], tour_id: int
) -> None:
    await upsert_many(
        session,
        DmFocus,
        [{"team_id": team_id, "user_id": user_id, "tour_id": tour_id} for user_id in user_ids],
        conflict=("team_id", "user_id"),
        update=("tour_id",),
    )


async def set_focus(session: AsyncSession, *, team_id: str, user_id: str, tour_id: int) -> None:
    await upsert(
        session,
        DmFocus,
        {"team_id": team_id, "user_id": user_id, "tour_id": tour_id},
        conflict=("team_id", "user_id"),
        update=("tour_id",),
    )


_SECRET = select(TourKey.secret).where(TourKey.tour_id == bindparam("tour_id"))
_ANSWERS = (
    select(Answer)
    .where(Answer.tour_id == bindparam("tour_id"), Answer.respondent == bindparam("respondent"))
    # Answers are written with Core upserts; refresh any already loaded in this session.
    .execution_options(populate_existing=True)
)
_ANSWERS_LOCKED = _ANSWERS.with_for_update()


async def tour_secret(session: AsyncSession, *, tour_id: int) -> str | None:
    return await session.scalar(_SECRET, {"tour_id": tour_id})


async def answers_of(
    session: AsyncSession, *, tour_id: int, respondent: str, lock: bool = False
) -> dict[int, Answer]:
    """This respondent's answers, by question id."""
    statement = _ANSWERS_LOCKED if lock else _ANSWERS
    found = await session.scalars(statement, {"tour_id": tour_id, "respondent": respondent})
    return {answer.question_id: answer for answer in found.all()}


# An answer is one row per question and respondent; saving it again replaces these columns.
# A hidden answer saved again (its author rewrote or added to it) is shown again.
ANSWER_KEY = ("question_id", "respondent")
ANSWER_REPLACED = ("text", "last_message_ts", "hidden", "hidden_reason")


def answer_row(
    *, tour_id: int, question_id: int, respondent: str, text: str, message_ts: str | None
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "tour_id": tour_id,
        "question_id": question_id,
        "respondent": respondent,
        "text": text,
        "last_message_ts": message_ts,
        "hidden": False,
        "hidden_reason": None,
    }


async def save_answer(
    session: AsyncSession,
    *,
    tour_id: int,
    question_id: int,
    respondent: str,
    text: str,
    message_ts: str | None,
) -> None:
    """Insert or replace one answer (editing replaces; no history is kept)."""
    await upsert(
        session,
        Answer,
        answer_row(
            tour_id=tour_id,
            question_id=question_id,
            respondent=respondent,
            text=text,
            message_ts=message_ts,
        ),
        conflict=ANSWER_KEY,
        update=ANSWER_REPLACED,
    )


async def delete_answer(session: AsyncSession, *, question_id: int, respondent: str) -> None:
    await session.execute(
        delete(Answer).where(Answer.question_id == question_id, Answer.respondent == respondent)
    )


@dataclass(frozen=True)
class TourCounts:
    participants: int
    respondents: int
    finished: int


async def counts(session: AsyncSession, *, tour_id: int) -> TourCounts:
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Participant.responded.is_(True)),
                func.count().filter(Participant.status == ParticipantStatus.DONE),
            ).where(Participant.tour_id == tour_id)
        )
    ).one()
    return TourCounts(participants=row[0], respondents=row[1], finished=row[2])


async def respondents_besides(
    session: AsyncSession, *, tour_id: int, user_ids: Collection[str]
) -> int:
    """How many people answered, not counting `user_ids` (a tour's readers). Participation is
    tracked by person even in an anonymous tour; the answers themselves are not."""
    statement = select(func.count()).where(
        Participant.tour_id == tour_id,
        Participant.responded.is_(True),
        Participant.user_id.not_in(list(user_ids)),
    )
    return int(await session.scalar(statement) or 0)


async def tours_due_to_close(session: AsyncSession, *, now: datetime) -> list[int]:
    statement = select(Tour.id).where(Tour.status == TourStatus.OPEN, Tour.closes_at <= now)
    return list((await session.scalars(statement)).all())


async def mark_closed(session: AsyncSession, *, tour_id: int, now: datetime) -> bool:
    """Close an open tour and destroy its key; False when it was already closed."""
    result = await session.execute(
        update(Tour)
        .where(Tour.id == tour_id, Tour.status == TourStatus.OPEN)
        .values(status=TourStatus.CLOSED, closed_at=now)
        .returning(Tour.anonymous)
    )
    anonymous = result.scalar()
    if anonymous is None:
        return False
    await session.execute(delete(TourKey).where(TourKey.tour_id == tour_id))
    await _rewrite_answers(session, tour_id=tour_id, anonymous=anonymous)
    return True


async def _rewrite_answers(session: AsyncSession, *, tour_id: int, anonymous: bool) -> None:
    """Write a closing tour's answers again, in the order of their random ids and without
    the Slack timestamps of people's messages (which would say who wrote what). Where a row
    sits in the file would otherwise still follow when it arrived: PostgreSQL appends rows
    as they come, and a SQLite page fills from its end in the order rows were written.
    In an anonymous tour each answer also gets a respondent key of its own, as random as the
    keyed hash it replaces: nothing needs one person's answers together any more, and read
    together they say more about who wrote them than each does alone."""
    table = table_of(Answer)
    rows = (
        await session.execute(select(table).where(table.c.tour_id == tour_id).order_by(table.c.id))
    ).mappings()
    kept = [
        {
            **row,
            "last_message_ts": None,
            "respondent": secrets.token_hex(32) if anonymous else row["respondent"],
        }
        for row in rows
    ]
    await session.execute(delete(table).where(table.c.tour_id == tour_id))
    if kept:
        await session.execute(insert(table), kept)


async def unfinished_participants(
    session: AsyncSession, *, tour_id: int | None = None
) -> Sequence[tuple[Tour, Participant]]:
    """People in open tours who have not gone through every question: for one tour (the
    leader's "Remind now"), or across every tour with reminders on."""
    statement = (
        select(Tour, Participant)
        .join(Participant, Participant.tour_id == Tour.id)
        .where(
            Tour.status == TourStatus.OPEN,
            Participant.status != ParticipantStatus.DONE,
        )
        .order_by(Tour.id, Participant.id)
    )
    if tour_id is not None:
        statement = statement.where(Tour.id == tour_id)
    else:
        statement = statement.where(Tour.reminders.is_(True))
    return [(tour, participant) for tour, participant in (await session.execute(statement)).all()]


async def answers_for_export(
    session: AsyncSession, *, tour_id: int
) -> list[tuple[int, str, str, str]]:
    """(question position, question, respondent, text), by question, then by the answer's
    random id: neither the order people answered in, nor the same person's place under every
    question (which would line up one person's answers across questions)."""
    statement = (
        select(Question.position, Question.text, Answer.respondent, Answer.text)
        .join(Answer, Answer.question_id == Question.id)
        .where(Question.tour_id == tour_id, Answer.hidden.is_(False))
        .order_by(Question.position, Answer.id)
    )
    return [(row[0], row[1], row[2], row[3]) for row in (await session.execute(statement)).all()]
