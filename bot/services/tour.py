"""The listening tour as units of work: launch, reminders, close, and what a leader may see.
A member's answers (by DM or the form) are bot/services/answers.py; the export is
bot/services/tour_export.py; the leader's Home cards are bot/services/home.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks import Message
from bot.blocks.tour import (
    render_close_notice,
    render_reminder,
)
from bot.flows.tour import (
    Reminded,
    RemindOutcome,
    Visibility,
    local_today,
    manual_reminder_allowed,
    reminder_due,
)
from bot.flows.working_hours import Away, next_allowed
from bot.models import (
    Participant,
    Question,
    Tour,
    TourStatus,
)
from bot.services import home
from bot.store import outbox
from bot.store import tours as store


def closed_on(tour: Tour) -> date:
    """The day the tour closed, in its leader's time zone: the day it was closed early, or the
    close date people were told (even if the closing tick ran just after midnight)."""
    return min(local_today(tour.closed_at or tour.closes_at, tour.leader_tz), tour.close_date)


def dm_payload(user_id: str, message: Message) -> dict[str, Any]:
    """A chat.postMessage payload for `message` in `user_id`'s DM with the bot."""
    return {"channel": user_id, **message.to_dict()}


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
            payload=dm_payload(tour.leader_id, notice),
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
        payload=dm_payload(participant.user_id, message),
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


async def remind_now(
    session: AsyncSession,
    *,
    tour: Tour,
    now: datetime,
    time_off: Mapping[str, Away] | None = None,
) -> Reminded:
    """The leader's "Remind now": everyone who has not finished, each in their own working hours,
    at most once a day, while the tour is open. Someone away (`time_off`, by user id, from their
    Slack status) is skipped and counted: their reminders_sent is untouched, so the tour's own
    reminder still finds them due once they are back."""
    if tour.status is TourStatus.CLOSED:
        return Reminded(RemindOutcome.CLOSED)
    if not manual_reminder_allowed(tour.last_manual_reminder_at, tour.opens_at, now):
        return Reminded(RemindOutcome.TOO_SOON)
    tour.last_manual_reminder_at = now
    questions = await store.questions_of(session, tour_id=tour.id)
    queued = away = 0
    for _, participant in await store.unfinished_participants(session, tour_id=tour.id):
        if time_off and participant.user_id in time_off:
            away += 1
            continue
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
    outcome = RemindOutcome.QUEUED if queued or away else RemindOutcome.NOBODY
    return Reminded(outcome, queued, away)


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
