"""The listening tour as units of work: launch, DM replies, the answer form, reminders, close,
and what a leader may see."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.blocks import Message
from bot.blocks.home import TourCard
from bot.blocks.tour import (
    render_already_finished,
    render_appended,
    render_close_notice,
    render_dm_help,
    render_finished,
    render_invitation,
    render_launch_delayed,
    render_leader_confirmation,
    render_question,
    render_reminder,
    render_tour_closed_for_member,
)
from bot.errors import EventAlreadyProcessed
from bot.flows.review import side_name, unthemed_count
from bot.flows.tour import (
    Audience,
    LaunchForm,
    Reminded,
    RemindOutcome,
    Reply,
    ReplyKind,
    Visibility,
    cleaned_questions,
    close_instant,
    days_left,
    interpret_reply,
    join_answer,
    local_today,
    manual_reminder_allowed,
    next_position,
    previous_position,
    reminder_due,
    respondent_key,
)
from bot.flows.working_hours import (
    Away,
    AwayWords,
    WorkingHours,
    away,
    hours_columns,
    next_allowed,
    prompt_not_before,
    timing,
)
from bot.models import (
    Answer,
    Outcome,
    OutcomeShaper,
    Participant,
    ParticipantStatus,
    PollStatus,
    Question,
    Theme,
    ThemeSource,
    Tour,
    TourKey,
    TourStatus,
)
from bot.services import checkins as checkin_services
from bot.services import home
from bot.services import outcomes as outcome_services
from bot.services.outcomes import ChainLink, chain
from bot.store import dm_answers, outbox
from bot.store import findings as findings_store
from bot.store import tours as store
from bot.store.events import EventClaim
from bot.store.together import Run, run_together, write_together

# Slack caps a plain_text_input's initial value; longer answers are not prefilled in the form.
PREFILL_LIMIT = 3000


def closed_on(tour: Tour) -> date:
    """The day the tour closed, in its leader's time zone: the day it was closed early, or the
    close date people were told (even if the closing tick ran just after midnight)."""
    return min(local_today(tour.closed_at or tour.closes_at, tour.leader_tz), tour.close_date)


def _dm(user_id: str, message: Message) -> dict[str, Any]:
    return {"channel": user_id, **message.to_dict()}


class LaunchRequest(BaseModel):
    """Whom the leader asked for, kept with a LAUNCHING tour until Slack has said who they
    are: people picked by name, and a channel whose members are all asked."""

    user_ids: list[str]
    channel_id: str | None
    include_leader: bool
    bot_user_id: str | None


async def start_launch(
    session: AsyncSession,
    *,
    team_id: str,
    enterprise_id: str | None,
    leader_id: str,
    leader_tz: str,
    form: LaunchForm,
    bot_user_id: str | None,
    now: datetime,
) -> Tour:
    """Store a submitted launch at once, LAUNCHING, with the audience asked for: working out
    who that is takes Slack calls (a channel's members, the directory) that a rate limit may
    hold up for minutes, and the submission must not be lost meanwhile (`finish_launch`)."""
    assert form.close_date is not None
    assert form.results_channel_id is not None
    assert form.min_responses is not None
    tour = await store.create_tour(
        session,
        store.NewTour(
            team_id=team_id,
            enterprise_id=enterprise_id,
            leader_id=leader_id,
            title=form.title.strip(),
            channel_id=form.results_channel_id,
            anonymous=form.anonymous,
            min_responses=form.min_responses,
            close_date=form.close_date,
            closes_at=close_instant(form.close_date, leader_tz),
            leader_tz=leader_tz,
            reminders=form.reminders,
            questions=cleaned_questions(form.questions),
            invitees=[],
            skipped=0,
        ),
        now=now,
    )
    tour.status = TourStatus.LAUNCHING
    tour.launch_request = LaunchRequest(
        user_ids=list(form.user_ids),
        channel_id=form.channel_id,
        include_leader=leader_id in form.user_ids,
        bot_user_id=bot_user_id,
    ).model_dump()
    tour.launch_next_at = now
    return tour


def launch_request(tour: Tour) -> LaunchRequest:
    return LaunchRequest.model_validate(tour.launch_request or {})


async def finish_launch(
    session: AsyncSession,
    *,
    tour: Tour,
    audience: Audience,
    now: datetime,
    hours: WorkingHours | None = None,
    away_words: AwayWords | None = None,
) -> None:
    """Open a LAUNCHING tour (locked) to its audience: queue one invitation per person, held
    for their working hours (and their time off, when their Slack status says so), plus the
    leader's confirmation with the count and when people will be asked."""
    assert tour.status is TourStatus.LAUNCHING
    hours = hours or WorkingHours()
    tour.work_start_minute, tour.work_end_minute, tour.work_days = hours_columns(hours)
    words = away_words or AwayWords()
    # When each invitation may go: None while away with no end set (it then goes in their
    # next working hours anyway, to be read when they are back).
    asked_at = {
        i.user_id: prompt_not_before(now, i.tz, hours, away(i.status, now=now, words=words))
        for i in audience.invitees
    }
    questions = await store.questions_of(session, tour_id=tour.id)
    store.add_participants(
        session, tour=tour, invitees=[(i.user_id, i.tz) for i in audience.invitees]
    )
    tour.status = TourStatus.OPEN
    tour.skipped_count = audience.skipped
    tour.launch_request = None
    tour.launch_next_at = None
    team_id, leader_id = tour.team_id, tour.leader_id
    # Everyone gets the same invitation; only the addressee differs.
    invitation = render_invitation(
        tour_id=tour.id,
        leader_id=leader_id,
        title=tour.title,
        anonymous=tour.anonymous,
        min_responses=tour.min_responses,
        closes_at=tour.closes_at,
        leader_tz=tour.leader_tz,
        question=questions[0].text,
        position=0,
        question_count=len(questions),
        quote_min_responses=tour.quote_min_responses,
    )
    await outbox.enqueue_many(
        session,
        [
            outbox.Outgoing(
                key=f"tour:{tour.id}:invite:{invitee.user_id}",
                method="chat.postMessage",
                payload=_dm(invitee.user_id, invitation),
                not_before=asked_at[invitee.user_id] or next_allowed(now, invitee.tz, hours),
            )
            for invitee in audience.invitees
        ],
        team_id=team_id,
        now=now,
    )
    await store.set_focus_many(
        session,
        team_id=team_id,
        user_ids=[invitee.user_id for invitee in audience.invitees],
        tour_id=tour.id,
    )
    assert tour.channel_id is not None
    confirmation = render_leader_confirmation(
        tour_id=tour.id,
        title=tour.title,
        invited=len(audience.invitees),
        skipped=audience.skipped,
        anonymous=tour.anonymous,
        min_responses=tour.min_responses,
        closes_at=tour.closes_at,
        leader_tz=tour.leader_tz,
        results_channel_id=tour.channel_id,
        timing=timing(now, [(i.tz, asked_at[i.user_id]) for i in audience.invitees]).sentence(),
        quote_min_responses=tour.quote_min_responses,
    )
    await outbox.enqueue(
        session,
        team_id=team_id,
        key=f"tour:{tour.id}:launched",
        method="chat.postMessage",
        payload=_dm(leader_id, confirmation),
        now=now,
    )


async def postpone_launch(
    session: AsyncSession, *, tour: Tour, until: datetime, now: datetime
) -> None:
    """Slack is busy (a rate limit, an outage): work the audience out again at `until`. The
    first time, the leader is told the tour is saved and will go out by itself."""
    tour.launch_attempts += 1
    tour.launch_next_at = until
    await outbox.enqueue(
        session,
        team_id=tour.team_id,
        key=f"{_launch_key(tour)}:delayed",
        method="chat.postMessage",
        payload=_dm(tour.leader_id, render_launch_delayed(title=tour.title)),
        now=now,
    )


def _launch_key(tour: Tour) -> str:
    """What a launch's notices are keyed by. An abandoned launch's tour row is deleted, and
    SQLite gives its id to the next tour: the submission's instant tells the two apart, or the
    next launch's notices would be taken for ones already sent."""
    return f"tour:{tour.id}:launch:{tour.created_at.isoformat()}"


async def abandon_launch(session: AsyncSession, *, tour: Tour, reason: str, now: datetime) -> None:
    """The audience cannot be worked out (a private channel the bot is not in, nobody left to
    ask): the tour is removed and the leader told why, and how to start again."""
    await outbox.enqueue(
        session,
        team_id=tour.team_id,
        key=f"{_launch_key(tour)}:abandoned",
        method="chat.postMessage",
        payload=_dm(tour.leader_id, Message(text=reason)),
        now=now,
    )
    for model in (Question, TourKey):
        await session.execute(delete(model).where(model.tour_id == tour.id))
    await session.execute(delete(Tour).where(Tour.id == tour.id))


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
        payload=_dm(user_id, message),
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


async def handle_dm_reply(
    session: AsyncSession,
    *,
    team_id: str,
    user_id: str,
    text: str,
    message_ts: str,
    now: datetime,
) -> Message:
    """Apply one DM message to the person's tour and return the bot's reply.

    The reply goes to the open tour whose question was asked last (DmFocus); without one, to
    the newest open tour the person is in."""
    if not text.strip():
        # A screenshot without a caption, say: nothing to file as an answer.
        return Message(
            text="I can only read text here. Type your answer as a message (a screenshot can't "
            "be stored with it)."
        )
    open_tours = await store.open_tours_for(session, team_id=team_id, user_id=user_id)
    # A check-in reply ("on track, 40%") to an initiative they own (step 4), unless a listening
    # tour is waiting for this person's next answer: that comes first.
    if not await store.awaiting_answer(session, team_id=team_id, user_id=user_id):
        checkin = await checkin_services.dm_checkin(
            session, team_id=team_id, user_id=user_id, text=text, now=now
        )
        if checkin is not None:
            return checkin
    if not open_tours:
        # No tour to answer: perhaps a proposal for the outcomes the leader asked for (step 3),
        # or a check-in reply the bot could not read.
        try:
            proposal = await outcome_services.dm_proposal(
                session, team_id=team_id, user_id=user_id, text=text, now=now
            )
        except outcome_services.OutcomeError as refused:
            return Message(text=str(refused))
        if proposal is not None:
            return proposal
        unclear = await checkin_services.unclear_checkin(session, team_id=team_id, user_id=user_id)
        if unclear is not None:
            return unclear
        latest = await store.latest_tour_for(session, team_id=team_id, user_id=user_id)
        if latest is not None and latest.status is TourStatus.CLOSED and latest.closed_at:
            return render_tour_closed_for_member(title=latest.title, closed_on=closed_on(latest))
        return render_dm_help(title=None, position=None, question_count=None, question=None)
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


async def close_tour(
    session: AsyncSession, *, tour: Tour, now: datetime, command: str = "/partner"
) -> bool:
    """Close once: destroy the key, tell the leader how many answered (and, when too few
    others did, that nothing will be shown) and refresh their App Home. False if it was
    already closed."""
    if not await store.mark_closed(session, tour_id=tour.id, now=now):
        return False
    tally = await store.counts(session, tour_id=tour.id)
    visibility = await visibility_of(session, tour=tour)
    # One DM to the leader when a tour closes: when answers may be shown, it is the review
    # prompt sent once the themes are suggested (services/findings.py), which offers Export too.
    if not visibility.show_answers:
        notice = render_close_notice(
            tour_id=tour.id,
            title=tour.title,
            respondents=tally.respondents,
            participants=tally.participants,
            visibility=visibility,
        )
        await outbox.enqueue(
            session,
            team_id=tour.team_id,
            key=f"tour:{tour.id}:closed",
            method="chat.postMessage",
            payload=_dm(tour.leader_id, notice),
            now=now,
            not_before=next_allowed(now, tour.leader_tz, tour.working_hours),
        )
    await home.queue_leader_home(
        session, tour=tour, key=f"tour:{tour.id}:closed:home", now=now, command=command
    )
    return True


async def close_due_tours(session: AsyncSession, *, now: datetime, command: str) -> int:
    closed = 0
    for tour_id in await store.tours_due_to_close(session, now=now):
        tour = await store.get_tour(session, tour_id=tour_id, lock=True)
        if tour is not None and await close_tour(session, tour=tour, now=now, command=command):
            closed += 1
    return closed


async def _queue_reminder(
    session: AsyncSession,
    *,
    tour: Tour,
    participant: Participant,
    questions: Sequence[Question],
    key: str,
    now: datetime,
    not_before: datetime | None = None,
) -> bool:
    position = participant.current_position
    message = render_reminder(
        tour_id=tour.id,
        leader_id=tour.leader_id,
        title=tour.title,
        closes_at=tour.closes_at,
        leader_tz=tour.leader_tz,
        question=questions[position].text if position is not None else None,
        position=position,
        question_count=len(questions),
        anonymous=tour.anonymous,
    )
    # A reminder asks a question, so a reply to it belongs to this tour — but only once it
    # is sent: one held for the morning must not claim tonight's replies to another tour.
    if not_before is None or not_before <= now:
        await store.set_focus(
            session, team_id=tour.team_id, user_id=participant.user_id, tour_id=tour.id
        )
    return await outbox.enqueue(
        session,
        team_id=tour.team_id,
        key=key,
        method="chat.postMessage",
        payload=_dm(participant.user_id, message),
        now=now,
        not_before=not_before,
    )


async def due_reminders(
    session: AsyncSession, *, now: datetime
) -> list[tuple[Tour, Participant, int]]:
    """Who is due which reminder now, inside their working hours (read only: the tick looks
    up their Slack status before queueing). Outside their window (a weekend) nothing is due
    yet: in their next window the reminder then due is the one sent, not a held one and a
    newer one back to back."""
    due = []
    for tour, participant in await store.unfinished_participants(session):
        number = reminder_due(
            now=now,
            opens_at=tour.opens_at,
            closes_at=tour.closes_at,
            tz_name=participant.tz,
            reminders_sent=participant.reminders_sent,
        )
        if number is not None and next_allowed(now, participant.tz, tour.working_hours) == now:
            due.append((tour, participant, number))
    return due


async def queue_due_reminders(
    session: AsyncSession, *, now: datetime, time_off: Mapping[str, Away] | None = None
) -> int:
    """Queue each reminder that is due now (`due_reminders`); the key makes a repeated tick
    queue nothing new. Someone away (`time_off`, by user id, from their Slack
    status) is not reminded and not counted as reminded: once the status is gone, the next
    tick finds the reminder due and sends one (never two at once, see reminder_due)."""
    queued = 0
    questions_by_tour: dict[int, list[Question]] = {}
    for tour, participant, number in await due_reminders(session, now=now):
        if time_off and participant.user_id in time_off:
            continue
        if tour.id not in questions_by_tour:
            questions_by_tour[tour.id] = await store.questions_of(session, tour_id=tour.id)
        participant.reminders_sent = number
        if await _queue_reminder(
            session,
            tour=tour,
            participant=participant,
            questions=questions_by_tour[tour.id],
            key=f"tour:{tour.id}:remind:{number}:{participant.user_id}",
            now=now,
        ):
            queued += 1
    return queued


async def remind_now(session: AsyncSession, *, tour: Tour, now: datetime) -> Reminded:
    """The leader's "Remind now": everyone who has not finished, each in their own working hours,
    at most once a day, while the tour is open."""
    if tour.status is TourStatus.CLOSED:
        return Reminded(RemindOutcome.CLOSED)
    if not manual_reminder_allowed(tour.last_manual_reminder_at, tour.opens_at, now):
        return Reminded(RemindOutcome.TOO_SOON)
    tour.last_manual_reminder_at = now
    questions = await store.questions_of(session, tour_id=tour.id)
    queued = 0
    for _, participant in await store.unfinished_participants(session, tour_id=tour.id):
        if await _queue_reminder(
            session,
            tour=tour,
            participant=participant,
            questions=questions,
            key=f"tour:{tour.id}:remind-now:{now.date().isoformat()}:{participant.user_id}",
            now=now,
            not_before=next_allowed(now, participant.tz, tour.working_hours),
        ):
            queued += 1
    return Reminded(RemindOutcome.QUEUED if queued else RemindOutcome.NOBODY, queued)


async def tour_cards(
    session: AsyncSession, *, team_id: str, leader_id: str, now: datetime
) -> list[TourCard]:
    cards = []
    for tour in await store.tours_led_by(session, team_id=team_id, leader_id=leader_id):
        tally = await store.counts(session, tour_id=tour.id)
        cancelled = tour.status is TourStatus.CANCELLED  # only its counts are kept
        cards.append(
            TourCard(
                tour_id=tour.id,
                title=tour.title,
                status=tour.status.value,
                respondents=tour.answered_count or 0 if cancelled else tally.respondents,
                participants=tour.asked_count or 0 if cancelled else tally.participants,
                days_left=days_left(now, tour.close_date, tour.leader_tz),
                close_date=tour.close_date,
                anonymous=tour.anonymous,
                stage=await _stage(session, tour=tour),
                closed_on=closed_on(tour) if tour.closed_at is not None else None,
            )
        )
    return cards


async def _stage(session: AsyncSession, *, tour: Tour) -> str:
    """Where the tour is in the process, for its App Home card."""
    if tour.status is TourStatus.OPEN:
        return "listening"
    poll = await findings_store.poll_of_tour(session, tour_id=tour.id)
    if poll is not None and poll.message_ts:
        if poll.status is PollStatus.OPEN:
            return "voting"
        committed = await session.scalar(select(func.count()).where(Outcome.tour_id == tour.id))
        if committed:
            return "committed"
        asked = await session.scalar(select(func.count()).where(OutcomeShaper.tour_id == tour.id))
        return "outcomes" if asked else "voted"
    if (
        tour.themes_suggested_at is not None
        and (await visibility_of(session, tour=tour)).show_themes
    ):
        return "review"
    return "closed"


# The last row of the "themes" CSV table: the answers in none of the posted themes.
UNTHEMED_ROW = "(fit no theme)"
INITIATIVE_COLUMNS = (
    "theme",
    "outcome",
    "partner",
    "measure",
    "initiative",
    "status",
    "owner_id",
    "due_date",
    "cadence_weeks",
    "implications",
    "tracking",
    "first_quick_win",
    "proposer_id",
    "backers",
    "progress",
)


@dataclass(frozen=True)
class TourExport:
    """A tour as its leader may see it: counts always; what people wrote only as `visibility`
    allows; in an anonymous tour, answers without any respondent."""

    tour: Tour
    participants: int
    respondents: int
    visibility: Visibility
    questions: list[tuple[str, list[str]]]
    named: list[tuple[str, list[tuple[str, str]]]] | None
    # Step 2, once posted: (label, summary, kind, votes, answers) per final theme, how many
    # answers fit none of them, and insights.
    themes: list[tuple[str, str, str, int, int]] = field(default_factory=list)
    unthemed: int = 0
    insights: list[tuple[str | None, str]] = field(default_factory=list)
    # Steps 3 and 4: (theme, outcome, partner, measure, target date) and the initiatives chain.
    outcomes: list[tuple[str, str, str, str, date]] = field(default_factory=list)
    initiatives: list[ChainLink] = field(default_factory=list)
    # Step 4's follow-through: each check-in (status, progress, the owner's note) and quick win.
    checkins: list[checkin_services.CheckinRecord] = field(default_factory=list)
    wins: list[checkin_services.WinRecord] = field(default_factory=list)

    @property
    def answers_visible(self) -> bool:
        return self.visibility.show_answers

    def record(self) -> dict[str, Any]:
        tour = self.tour
        record: dict[str, Any] = {
            "id": tour.id,
            "team_id": tour.team_id,
            "title": tour.title,
            "leader_id": tour.leader_id,
            "channel_id": tour.channel_id,
            "anonymous": tour.anonymous,
            "min_responses": tour.min_responses,
            "status": tour.status.value,
            "opens_at": tour.opens_at.isoformat(),
            "closes_at": tour.closes_at.isoformat(),
            "participants": self.participants,
            "respondents": self.respondents,
            "answers_visible": self.answers_visible,
        }
        if self.named is not None:
            record["questions"] = [
                {"question": q, "answers": [{"user_id": u, "text": t} for u, t in answers]}
                for q, answers in self.named
            ]
        else:
            record["questions"] = [
                {"question": q, "answers": answers if self.answers_visible else []}
                for q, answers in self.questions
            ]
        record["themes"] = [
            {
                "label": label,
                "summary": summary,
                "kind": kind,
                "side": side_name(kind),
                "answers": answers,
                "votes": votes,
            }
            for label, summary, kind, votes, answers in self.themes
        ]
        if self.themes:
            record["unthemed_answers"] = self.unthemed
        record["insights"] = [{"theme": theme, "text": text} for theme, text in self.insights]
        record["outcomes"] = [
            {
                "theme": theme,
                "outcome": statement,
                "partner": partner,
                "measure": measure,
                "target_date": target.isoformat(),
            }
            for theme, statement, partner, measure, target in self.outcomes
        ]
        record["initiatives"] = [link.record() for link in self.initiatives]
        record["checkins"] = [checkin.record() for checkin in self.checkins]
        record["quick_wins"] = [win.record() for win in self.wins]
        return record

    def rows(self, table: str = "answers") -> Sequence[Sequence[object]]:
        """CSV rows. "answers": question, respondent (named tours only), answer.
        "initiatives": each initiative with its chain back to the theme. "themes": each
        posted theme with its side, answers and votes, then a row counting the answers in
        none of them. "checkins": each check-in with its status, progress and note. "wins":
        each quick win with its initiative, theme and author."""
        if table == "themes":
            rows: list[Sequence[object]] = [("label", "side", "summary", "answers", "votes")]
            rows += [
                (label, side_name(kind), summary, answers, votes)
                for label, summary, kind, votes, answers in self.themes
            ]
            if self.themes:
                rows.append((UNTHEMED_ROW, "", "", self.unthemed, ""))
            return rows
        if table == "initiatives":
            return [list(INITIATIVE_COLUMNS)] + [
                [link.record()[column] for column in INITIATIVE_COLUMNS]
                for link in self.initiatives
            ]
        if table == "checkins":
            columns = checkin_services.CHECKIN_COLUMNS
            return [list(columns)] + [
                [checkin.record()[column] for column in columns] for checkin in self.checkins
            ]
        if table == "wins":
            columns = checkin_services.WIN_COLUMNS
            return [list(columns)] + [
                [win.record()[column] for column in columns] for win in self.wins
            ]
        if self.named is not None:
            header: tuple[str, ...] = ("question", "user_id", "answer")
            return [header] + [(q, u, t) for q, answers in self.named for u, t in answers]
        return [("question", "answer")] + [
            (q, text) for q, answers in self.questions for text in answers
        ]


async def visibility_of(
    session: AsyncSession, *, tour: Tour, reader_id: str | None = None
) -> Visibility:
    """What the tour may show its leader, or `reader_id` (an admin acting for them) as well:
    neither's own answers count toward the minimum."""
    readers = {tour.leader_id} | ({reader_id} if reader_id else set())
    return Visibility(
        others=await store.respondents_besides(session, tour_id=tour.id, user_ids=readers),
        min_responses=tour.min_responses,
        anonymous=tour.anonymous,
        closed=tour.status is TourStatus.CLOSED,
        invited=(await store.counts(session, tour_id=tour.id)).participants,
        quote_min_responses=tour.quote_min_responses,
    )


async def export_tour(
    session: AsyncSession, *, tour: Tour, reader_id: str | None = None
) -> TourExport:
    """The tour as its leader (and `reader_id`, when someone else asks) may see it: what people
    wrote only as `Visibility` allows (bot/flows/tour.py)."""
    tally = await store.counts(session, tour_id=tour.id)
    visibility = await visibility_of(session, tour=tour, reader_id=reader_id)
    visible = visibility.show_answers
    by_question: dict[int, tuple[str, list[tuple[str, str]]]] = {}
    for question in await store.questions_of(session, tour_id=tour.id):
        by_question[question.position] = (question.text, [])
    if visible:
        for position, _, respondent, text in await store.answers_for_export(
            session, tour_id=tour.id
        ):
            by_question[position][1].append((respondent, text))
    ordered = [by_question[position] for position in sorted(by_question)]
    questions = [(q, [text for _, text in answers]) for q, answers in ordered]
    named = ordered if (visible and not tour.anonymous) else None
    # Posted themes and insights come from the answers: they stay behind the same rule
    # (themes from `min_responses`; insights are people's words, like the answers).
    themes, insights = await _findings(session, tour=tour) if visibility.show_themes else ([], [])
    if not visible:
        insights = []
    answer_total = await findings_store.count_answers(session, tour_id=tour.id)
    committed = await session.execute(
        select(Theme.label, Outcome)
        .join(Outcome, Outcome.theme_id == Theme.id)
        .where(Theme.tour_id == tour.id)
        .order_by(Theme.position)
    )
    return TourExport(
        tour=tour,
        participants=tally.participants,
        respondents=tally.respondents,
        visibility=visibility,
        questions=questions,
        named=[(q, list(a)) for q, a in named] if named is not None else None,
        themes=themes,
        unthemed=unthemed_count(answer_total, [answers for *_, answers in themes]),
        insights=insights,
        outcomes=[
            (label, o.statement, o.partner, o.measure, o.target_date)
            for label, o in committed.all()
        ],
        initiatives=list(await chain(session, tour=tour)),
        checkins=await checkin_services.checkins_for_export(session, tour_id=tour.id),
        wins=await checkin_services.wins_for_export(session, tour_id=tour.id),
    )


async def _findings(
    session: AsyncSession, *, tour: Tour
) -> tuple[list[tuple[str, str, str, int, int]], list[tuple[str | None, str]]]:
    """The posted themes with their vote totals, and the team's insights."""
    poll = await findings_store.poll_of_tour(session, tour_id=tour.id)
    if poll is None:
        return [], []
    themes = await findings_store.themes_of(session, tour_id=tour.id, source=ThemeSource.FINAL)
    totals, _ = await findings_store.poll_totals(session, poll_id=poll.id)
    labels = {theme.id: theme.label for theme in themes}
    return (
        [(t.label, t.summary, t.kind, totals.get(t.id, 0), t.answer_count) for t in themes],
        [
            (labels.get(theme_id) if theme_id else None, text)
            for theme_id, text in await findings_store.insights_of(session, tour_id=tour.id)
        ],
    )
