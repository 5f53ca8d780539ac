"""A member's answers to a listening tour as units of work: a DM message read against their
place in the tour (planned from a read and written in one trip in the common case, worked out
in full otherwise), and the answer form."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.blocks import Message
from bot.blocks.tour import (
    render_already_finished,
    render_appended,
    render_dm_help,
    render_finished,
    render_question,
    render_tour_closed_for_member,
)
from bot.errors import EventAlreadyProcessed
from bot.flows.tour import (
    Reply,
    ReplyKind,
    interpret_reply,
    join_answer,
    next_position,
    previous_position,
    respondent_key,
)
from bot.models import (
    Answer,
    Participant,
    ParticipantStatus,
    Question,
    Tour,
    TourStatus,
)
from bot.services.tour import closed_on, dm_payload
from bot.store import dm_answers, outbox
from bot.store import tours as store
from bot.store.events import EventClaim
from bot.store.together import Run, run_together, write_together

# Slack caps a plain_text_input's initial value; longer answers are not prefilled in the form.
PREFILL_LIMIT = 3000


@dataclass(frozen=True)
class Conversation:
    """A participant's place in one tour, with what is needed to answer as them."""

    tour: Tour
    participant: Participant
    questions: list[Question]
    respondent: str


async def _conversation(
    session: AsyncSession, *, tour: Tour, user_id: str, lock: bool = True
) -> Conversation | None:
    participant = await store.get_participant(session, tour_id=tour.id, user_id=user_id, lock=lock)
    if participant is None:
        return None
    secret = await store.tour_secret(session, tour_id=tour.id) if tour.anonymous else None
    return Conversation(
        tour=tour,
        participant=participant,
        questions=await store.questions_of(session, tour_id=tour.id),
        respondent=respondent_key(anonymous=tour.anonymous, user_id=user_id, secret=secret),
    )


async def _finished_message(
    session: AsyncSession, conversation: Conversation, answers: Mapping[int, Answer] | None = None
) -> Message:
    """The thank-you (quoting every answer in a named tour only); `answers` when they were
    just read."""
    if answers is None:
        answers = await store.answers_of(
            session, tour_id=conversation.tour.id, respondent=conversation.respondent
        )
    return render_finished(
        tour_id=conversation.tour.id,
        title=conversation.tour.title,
        answers=[
            (q.text, answers[q.id].text if q.id in answers else None)
            for q in conversation.questions
        ],
        closes_at=conversation.tour.closes_at,
        leader_tz=conversation.tour.leader_tz,
        anonymous=conversation.tour.anonymous,
    )


async def _tour_in_focus(
    session: AsyncSession, open_tours: Sequence[Tour], *, team_id: str, user_id: str
) -> tuple[Tour, bool]:
    """The open tour a DM reply belongs to: the one whose question was asked last (DmFocus),
    else the newest; and whether it is the one in focus."""
    focus = await store.focused_tour_id(session, team_id=team_id, user_id=user_id)
    chosen = next((t for t in open_tours if t.id == focus), open_tours[0])
    return chosen, chosen.id == focus


@dataclass(frozen=True)
class Turn:
    """One DM message read against the person's place in a tour."""

    conversation: Conversation
    answers: dict[int, Answer]
    reply: Reply


async def _read_turn(
    session: AsyncSession, *, tour: Tour, user_id: str, text: str, message_ts: str, lock: bool
) -> Turn:
    conversation = await _conversation(session, tour=tour, user_id=user_id, lock=lock)
    assert conversation is not None  # open_tours_for only returns tours the person is in
    questions = conversation.questions
    answers = await store.answers_of(
        session, tour_id=tour.id, respondent=conversation.respondent, lock=lock
    )
    previous_ts: float | None = None
    before = previous_position(conversation.participant.current_position, len(questions))
    if before is not None:
        previous = answers.get(questions[before].id)
        if previous is not None and previous.last_message_ts:
            previous_ts = float(previous.last_message_ts)
    reply = interpret_reply(
        text,
        current_position=conversation.participant.current_position,
        question_count=len(questions),
        previous_answer_ts=previous_ts,
        message_ts=float(message_ts),
    )
    return Turn(conversation=conversation, answers=answers, reply=reply)


@dataclass(frozen=True)
class PlannedAnswer:
    """A DM that is plainly the answer to the question the person is on, worked out from a
    read, and what writing it takes. It holds only while the person is still on that
    question, the answer before it is as it was read (a message joined to it meanwhile
    changes whether this one is joined too) and the tour is open; `write_planned_answer`
    checks all three as it writes."""

    tour_id: int
    participant_id: int
    position: int
    following: int
    question_id: int
    respondent: str
    text: str
    message_ts: str
    reply: Message
    refocus: bool  # the tour is not yet the one the person's DM replies go to
    joinable: dm_answers.AnswerStamp | None  # as read: a later append would change the plan


async def plan_dm_answer(
    connection: AsyncConnection, *, team_id: str, user_id: str, text: str, message_ts: str
) -> PlannedAnswer | None:
    """Read-only, in one trip: the write a DM answer needs, when it is the common case (the
    answer to the current question of an open tour, with another question after it); None for
    anything else, which `handle_dm_reply` then works out inside a write transaction. Reading
    first keeps the write transaction, and so the time SQLite's one write lock is held, short;
    one trip each keeps the bot's busiest path cheap (bot/store/together.py)."""
    if not text.strip():
        return None
    return await run_together(
        connection,
        functools.partial(
            _plan_dm_answer, team_id=team_id, user_id=user_id, text=text, message_ts=message_ts
        ),
    )


def _plan_dm_answer(
    run: Run, *, team_id: str, user_id: str, text: str, message_ts: str
) -> PlannedAnswer | None:
    open_tours = dm_answers.open_tours(run, team_id=team_id, user_id=user_id)
    if all(tour.position is None for tour in open_tours):
        return None  # no tour is asking them anything: a check-in or a proposal, perhaps
    # The tour whose question was asked last, else the newest (as `_tour_in_focus` chooses).
    tour = next((tour for tour in open_tours if tour.in_focus), open_tours[0])
    position = tour.position
    if position is None:
        return None
    questions = dm_answers.questions(run, tour_id=tour.tour_id)
    respondent = respondent_key(anonymous=tour.anonymous, user_id=user_id, secret=tour.secret)
    following = next_position(position, len(questions))
    if following is None:
        return None  # the last answer: its reply lists every answer, read after the write
    joinable: dm_answers.AnswerStamp | None = None
    previous_ts: float | None = None
    before = previous_position(position, len(questions))
    if before is not None:
        previous_id = questions[before][0]
        stamps = dm_answers.answer_stamps(run, tour_id=tour.tour_id, respondent=respondent)
        stamp = stamps.get(previous_id)
        joinable = dm_answers.AnswerStamp(previous_id, respondent, stamp)
        previous_ts = float(stamp) if stamp else None
    reply = interpret_reply(
        text,
        current_position=position,
        question_count=len(questions),
        previous_answer_ts=previous_ts,
        message_ts=float(message_ts),
    )
    if reply.kind is not ReplyKind.ANSWER:
        return None
    return PlannedAnswer(
        tour_id=tour.tour_id,
        participant_id=tour.participant_id,
        position=position,
        following=following,
        question_id=questions[position][0],
        respondent=respondent,
        text=text,
        message_ts=message_ts,
        reply=render_question(
            position=following, question_count=len(questions), question=questions[following][1]
        ),
        refocus=not tour.in_focus,
        joinable=joinable,
    )


def reply_to(
    user_id: str, message: Message, *, team_id: str, source: str | None, private: bool = True
) -> outbox.Outgoing:
    """The bot's reply to one DM message of a person's, as an outbox call: queued with the
    change it reports, so a rate-limited reply is sent later rather than lost (and never
    followed by a "nothing was changed" for a change that was made). `source` is what it
    answers: Slack's event id, or the form's view id. Never the message's timestamp: kept in
    the outbox next to the person's id, it would outlive the close that deletes the answers'
    timestamps (with the bot token a timestamp finds the message, and so the answer). Without
    a source the key is random: the request's event claim already keeps it to one reply.
    `private`: it may quote their answers (the row's payload is emptied once sent)."""
    return outbox.Outgoing(
        key=f"reply:{team_id}:{source or uuid.uuid4().hex}",
        method="chat.postMessage",
        payload=dm_payload(user_id, message),
        private=private,
    )


async def queue_reply(
    session: AsyncSession,
    reply: outbox.Outgoing,
    *,
    team_id: str,
    now: datetime,
    lease_for: timedelta,
) -> outbox.Queued:
    """Queue a reply with the unit of work it answers, leased to this process to send at once."""
    return await outbox.enqueue_now(session, reply, team_id=team_id, now=now, lease_for=lease_for)


async def write_planned_answer(
    connection: AsyncConnection,
    plan: PlannedAnswer,
    *,
    team_id: str,
    user_id: str,
    event: EventClaim | None,
    now: datetime,
    lease_for: timedelta,
) -> outbox.Queued | None:
    """Write a planned answer and queue its reply (the next question), in one trip, if what
    it was planned from still holds; None, with nothing written, when the tour has closed or
    the person has moved on since the read. Raises EventAlreadyProcessed, with nothing
    written, when the event was handled before. A transaction of its own: `connection` must
    not be in one."""
    # The next question quotes nothing the person wrote: the row need not be private.
    reply = reply_to(
        user_id,
        plan.reply,
        team_id=team_id,
        source=event.event_id if event is not None else None,
        private=False,
    )
    row = reply.row(team_id=team_id, now=now, leased_until=now + lease_for)
    unit = functools.partial(
        _write_planned_answer, plan=plan, team_id=team_id, user_id=user_id, event=event, reply=row
    )
    try:
        reply_id = await write_together(connection, unit)
    except _Overtaken:
        return None
    return outbox.Queued(reply_id, team_id, reply, now)


class _Overtaken(Exception):
    """Raised inside the write to roll back its event claim: the plan no longer holds."""


def _write_planned_answer(
    run: Run,
    *,
    plan: PlannedAnswer,
    team_id: str,
    user_id: str,
    event: EventClaim | None,
    reply: dict[str, Any],
) -> int | None:
    # The claim first, as the full path claims first: two deliveries of one event taking the
    # two paths on PostgreSQL then lock the same rows in the same order.
    if event is not None and not dm_answers.claim_event(run, event):
        raise EventAlreadyProcessed(event.event_id)
    if not dm_answers.tour_still_open(run, tour_id=plan.tour_id):
        raise _Overtaken
    moved = dm_answers.advance(
        run,
        participant_id=plan.participant_id,
        from_position=plan.position,
        to_position=plan.following,
        unchanged=plan.joinable,
    )
    if not moved:
        raise _Overtaken
    dm_answers.save_answer(
        run,
        tour_id=plan.tour_id,
        question_id=plan.question_id,
        respondent=plan.respondent,
        text=plan.text,
        message_ts=plan.message_ts,
    )
    if plan.refocus:
        dm_answers.set_focus(run, team_id=team_id, user_id=user_id, tour_id=plan.tour_id)
    return dm_answers.queue_message(run, reply)


async def answer_tour_dm(
    session: AsyncSession,
    *,
    open_tours: Sequence[Tour],
    team_id: str,
    user_id: str,
    text: str,
    message_ts: str,
) -> Message:
    """Apply one DM message to the person's tour and return the bot's reply (the DM router,
    bot/services/dm.py, has decided it is for a tour: `open_tours`, newest first, is not empty).

    The reply goes to the open tour whose question was asked last (DmFocus); without one, to
    the newest open tour the person is in."""
    chosen, _ = await _tour_in_focus(session, open_tours, team_id=team_id, user_id=user_id)
    # Lock it: a Close now running at the same moment must not miss this answer's timestamp
    # or destroy the key this answer is about to be filed under.
    tour = await store.get_tour(session, tour_id=chosen.id, lock=True)
    if tour is None or tour.status is TourStatus.CLOSED:
        return render_tour_closed_for_member(title=chosen.title, closed_on=closed_on(chosen))
    turn = await _read_turn(
        session, tour=tour, user_id=user_id, text=text, message_ts=message_ts, lock=True
    )
    conversation, answers, reply = turn.conversation, turn.answers, turn.reply
    participant, questions = conversation.participant, conversation.questions
    position = participant.current_position
    await store.set_focus(session, team_id=team_id, user_id=user_id, tour_id=tour.id)
    if reply.kind is ReplyKind.HELP:
        current = questions[position] if position is not None else None
        return render_dm_help(
            title=tour.title,
            position=position,
            question_count=len(questions),
            question=current.text if current else None,
        )
    if reply.kind is ReplyKind.FINISHED:
        return render_already_finished(tour_id=tour.id, title=tour.title)
    assert reply.position is not None
    question = questions[reply.position]
    if reply.kind is ReplyKind.APPEND:
        earlier = answers[question.id]
        await store.save_answer(
            session,
            tour_id=tour.id,
            question_id=question.id,
            respondent=conversation.respondent,
            text=join_answer(earlier.text, text),
            message_ts=message_ts,
        )
        waiting = questions[position].text if position is not None else None
        return render_appended(question=question.text, current=waiting)
    if reply.kind is ReplyKind.ANSWER:
        await store.save_answer(
            session,
            tour_id=tour.id,
            question_id=question.id,
            respondent=conversation.respondent,
            text=text,
            message_ts=message_ts,
        )
        participant.responded = True
    following = next_position(reply.position, len(questions))
    participant.current_position = following
    if following is None:
        participant.status = ParticipantStatus.DONE
        return await _finished_message(session, conversation)
    participant.status = ParticipantStatus.ANSWERING
    return render_question(
        position=following, question_count=len(questions), question=questions[following].text
    )


@dataclass(frozen=True)
class FormView:
    tour: Tour
    questions: list[str]
    answers: list[str | None]


async def answer_form(
    session: AsyncSession, *, team_id: str, user_id: str, tour_id: int
) -> FormView | Message:
    """The questions with this person's answers, or the message explaining why not."""
    tour = await store.get_tour(session, tour_id=tour_id, team_id=team_id)
    if tour is None:
        return render_dm_help(title=None, position=None, question_count=None, question=None)
    if tour.status is TourStatus.CLOSED:
        return render_tour_closed_for_member(title=tour.title, closed_on=closed_on(tour))
    conversation = await _conversation(session, tour=tour, user_id=user_id)
    if conversation is None:
        return render_dm_help(title=None, position=None, question_count=None, question=None)
    answers = await store.answers_of(session, tour_id=tour.id, respondent=conversation.respondent)
    return FormView(
        tour=tour,
        questions=[q.text for q in conversation.questions],
        answers=[answers[q.id].text if q.id in answers else None for q in conversation.questions],
    )


@dataclass(frozen=True)
class FormSaved:
    reply: Message  # what to tell the person
    tour_open: bool  # False: nothing was saved, and the reply says why (in the modal)


async def save_answer_form(
    session: AsyncSession,
    *,
    team_id: str,
    user_id: str,
    tour_id: int,
    mode: Literal["edit", "add"],
    values: Mapping[int, str],
) -> FormSaved:
    """Apply the form: edit replaces (an emptied box removes the answer, except an answer too
    long to prefill, which an empty box keeps); add appends."""
    tour = await store.get_tour(session, tour_id=tour_id, team_id=team_id, lock=True)
    if tour is None:
        help_ = render_dm_help(title=None, position=None, question_count=None, question=None)
        return FormSaved(help_, tour_open=False)
    if tour.status is not TourStatus.OPEN:
        closed = render_tour_closed_for_member(title=tour.title, closed_on=closed_on(tour))
        return FormSaved(closed, tour_open=False)
    conversation = await _conversation(session, tour=tour, user_id=user_id)
    if conversation is None:
        help_ = render_dm_help(title=None, position=None, question_count=None, question=None)
        return FormSaved(help_, tour_open=True)
    existing = await store.answers_of(
        session, tour_id=tour.id, respondent=conversation.respondent, lock=True
    )
    for position, question in enumerate(conversation.questions):
        typed = values.get(position, "").strip()
        before = existing.get(question.id)
        if mode == "add":
            if typed:
                text = join_answer(before.text, typed) if before else typed
                await _save(session, conversation, question, text)
        elif typed:
            if before is None or typed != before.text:  # left as it was, a hidden one stays hidden
                await _save(session, conversation, question, typed)
        elif before is not None and len(before.text) <= PREFILL_LIMIT:
            await store.delete_answer(
                session, question_id=question.id, respondent=conversation.respondent
            )
    remaining = await store.answers_of(session, tour_id=tour.id, respondent=conversation.respondent)
    participant = conversation.participant
    participant.responded = bool(remaining)
    if remaining:
        participant.current_position = None
        participant.status = ParticipantStatus.DONE
    else:
        # An empty form answers nothing: they are asked (and reminded) from the first question.
        participant.current_position = 0
        participant.status = ParticipantStatus.INVITED
    return FormSaved(await _finished_message(session, conversation, remaining), tour_open=True)


async def _save(
    session: AsyncSession, conversation: Conversation, question: Question, text: str
) -> None:
    await store.save_answer(
        session,
        tour_id=conversation.tour.id,
        question_id=question.id,
        respondent=conversation.respondent,
        text=text,
        message_ts=None,
    )


async def no_tour_reply(session: AsyncSession, *, team_id: str, user_id: str) -> Message:
    """The reply to a DM that is for no tour: their last tour has closed, or how to answer."""
    latest = await store.latest_tour_for(session, team_id=team_id, user_id=user_id)
    if latest is not None and latest.status is TourStatus.CLOSED and latest.closed_at:
        return render_tour_closed_for_member(title=latest.title, closed_on=closed_on(latest))
    return render_dm_help(title=None, position=None, question_count=None, question=None)
