"""The statements of the common DM answer, for units run together (bot/store/together.py).

A DM answer is read in one unit (the person's open tours, the questions, when their answers
last grew) and written in another (claim the event, check the tour is still open, move the
person on if they are where the read left them, store the answer). Each function here runs one
or two statements through the unit's `run`; bot/services/answers.py strings them together.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import String, bindparam, select, update

from bot.models import (
    Answer,
    DmFocus,
    OutboxMessage,
    Participant,
    ParticipantStatus,
    ProcessedEvent,
    Question,
    Tour,
    TourKey,
    TourStatus,
)
from bot.store.events import EventClaim
from bot.store.inserts import insert_if_absent_statement, table_of, upsert_statement
from bot.store.together import Run
from bot.store.tours import ANSWER_KEY, ANSWER_REPLACED, answer_row, open_tours_asked


class OpenTour(NamedTuple):
    """An open tour a person was asked to answer, with their place in it."""

    tour_id: int
    anonymous: bool
    participant_id: int
    position: int | None  # the question they are on; None before the first or after the last
    secret: str | None  # the tour's key (anonymous tours)
    in_focus: bool  # the tour their DM replies go to (DmFocus)


class AnswerStamp(NamedTuple):
    """An answer's question, respondent and last message timestamp (None: no answer, or no
    timestamp), as read."""

    question_id: int
    respondent: str
    last_message_ts: str | None


_FOCUS = (
    select(DmFocus.tour_id)
    .where(DmFocus.team_id == bindparam("team_id"), DmFocus.user_id == bindparam("user_id"))
    .scalar_subquery()
)
_OPEN_TOURS = open_tours_asked(
    Tour.id,
    Tour.anonymous,
    Participant.id,
    Participant.current_position,
    TourKey.secret,
    (Tour.id == _FOCUS).label("in_focus"),
).outerjoin(TourKey, TourKey.tour_id == Tour.id)
_QUESTIONS = (
    select(Question.id, Question.text)
    .where(Question.tour_id == bindparam("tour_id"))
    .order_by(Question.position)
)
_STAMPS = select(Answer.question_id, Answer.last_message_ts).where(
    Answer.tour_id == bindparam("tour_id"), Answer.respondent == bindparam("respondent")
)
# Locked on PostgreSQL as a Close locks it: a Close must not miss an answer written meanwhile.
_STILL_OPEN = (
    select(Tour.id)
    .where(Tour.id == bindparam("tour_id"), Tour.status == TourStatus.OPEN)
    .with_for_update()
)
_ADVANCE = (
    update(Participant)
    .where(Participant.id == bindparam("p_id"), Participant.current_position == bindparam("p_from"))
    .values(current_position=bindparam("p_to"), status=ParticipantStatus.ANSWERING, responded=True)
)
_ADVANCE_IF_UNCHANGED = _ADVANCE.where(
    select(Answer.last_message_ts)
    .where(
        Answer.question_id == bindparam("a_question"),
        Answer.respondent == bindparam("a_respondent"),
    )
    .scalar_subquery()
    .is_not_distinct_from(bindparam("a_stamp", type_=String()))
)


def open_tours(run: Run, *, team_id: str, user_id: str) -> list[OpenTour]:
    """Open tours this person was asked to answer, newest first."""
    rows = run(_OPEN_TOURS, {"team_id": team_id, "user_id": user_id}).rows
    return [
        OpenTour(tour_id, bool(anonymous), participant_id, position, secret, bool(in_focus))
        for tour_id, anonymous, participant_id, position, secret, in_focus in rows
    ]


def questions(run: Run, *, tour_id: int) -> list[tuple[int, str]]:
    """A tour's questions in order, as (id, text)."""
    return [(question_id, text) for question_id, text in run(_QUESTIONS, {"tour_id": tour_id}).rows]


def answer_stamps(run: Run, *, tour_id: int, respondent: str) -> dict[int, str | None]:
    """When each of this respondent's answers last grew, by question id."""
    rows = run(_STAMPS, {"tour_id": tour_id, "respondent": respondent}).rows
    return {question_id: stamp for question_id, stamp in rows}


def claim_event(run: Run, event: EventClaim) -> bool:
    """Record a Slack event id, as bot.store.events.record_event does; False when it was."""
    statement = insert_if_absent_statement(run.dialect, table_of(ProcessedEvent))
    return bool(run(statement, event._asdict()).rows)


def tour_still_open(run: Run, *, tour_id: int) -> bool:
    return bool(run(_STILL_OPEN, {"tour_id": tour_id}).rows)


def advance(
    run: Run,
    *,
    participant_id: int,
    from_position: int,
    to_position: int,
    unchanged: AnswerStamp | None,
) -> bool:
    """Move someone who answered the question at `from_position` on to `to_position`; False,
    changing nothing, if they are no longer on that question or the `unchanged` answer's
    timestamp is not what it was."""
    values: dict[str, object] = {
        "p_id": participant_id,
        "p_from": from_position,
        "p_to": to_position,
    }
    if unchanged is None:
        return run(_ADVANCE, values).rowcount == 1
    values |= {
        "a_question": unchanged.question_id,
        "a_respondent": unchanged.respondent,
        "a_stamp": unchanged.last_message_ts,
    }
    return run(_ADVANCE_IF_UNCHANGED, values).rowcount == 1


def save_answer(
    run: Run, *, tour_id: int, question_id: int, respondent: str, text: str, message_ts: str
) -> None:
    """Insert or replace one answer (as bot.store.tours.save_answer does)."""
    statement = upsert_statement(run.dialect, table_of(Answer), ANSWER_KEY, ANSWER_REPLACED)
    row = answer_row(
        tour_id=tour_id,
        question_id=question_id,
        respondent=respondent,
        text=text,
        message_ts=message_ts,
    )
    run(statement, row)


def queue_message(run: Run, row: dict[str, Any]) -> int | None:
    """Insert an outbox row (bot.store.outbox.Outgoing.row) unless its key is queued; its id."""
    statement = insert_if_absent_statement(run.dialect, table_of(OutboxMessage))
    rows = run(statement, row).rows
    return int(rows[0][0]) if rows else None


def set_focus(run: Run, *, team_id: str, user_id: str, tour_id: int) -> None:
    statement = upsert_statement(
        run.dialect, table_of(DmFocus), ("team_id", "user_id"), ("tour_id",)
    )
    run(statement, {"team_id": team_id, "user_id": user_id, "tour_id": tour_id})
