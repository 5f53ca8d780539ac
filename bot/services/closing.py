"""Step 4's end of an initiative: marked done (celebrated in the team channel, and the people
who answered the tour told "you said, we did"), a new due date, closed unfinished, and the
question an overdue initiative's owner is asked. Inside the caller's transaction; messages go
through the outbox."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.checkins import (
    render_celebration,
    render_closed_for_leader,
    render_loop_closed,
    render_new_due_for_leader,
    render_overdue,
    render_overdue_for_leader,
)
from bot.flows.checkins import (
    CheckinStatus,
)
from bot.flows.outcomes import InitiativeEvent, InitiativeStatus, Refused
from bot.flows.tour import local_today
from bot.models import (
    Checkin,
    CheckinState,
    Initiative,
    LoopOptOut,
    Participant,
    Tour,
)
from bot.services import initiatives, working_hours
from bot.services.checkin_schedule import (
    owner_zone,
)
from bot.services.checkins import BATCH, NOT_UNDER_WAY, NOT_YOURS, PENDING
from bot.services.initiatives import card_of
from bot.store import outbox
from bot.store.outbox import Outgoing

log = logging.getLogger("bot.services.closing")

# A new due date that is not ahead: shown next to the date picked, the form kept.
DAY_NOT_AHEAD = "Pick a day after today."


# --- finishing, extending, closing --------------------------------------------------------------


async def finish(
    session: AsyncSession, *, initiative: Initiative, tour: Tour, now: datetime
) -> bool:
    """Done: celebrate in the team channel, and tell the people who answered the tour (once,
    unless they opted out). False if it was not under way."""
    moved = await initiatives.move(session, initiative=initiative, event=InitiativeEvent.FINISH)
    if moved.refused is not None:
        return False
    initiative.done_at = now
    initiative.progress = 100
    initiative.last_status = CheckinStatus.DONE.value
    initiative.next_checkin_at = None
    await _stop_pending(session, initiative)
    card = await card_of(session, initiative)
    if tour.channel_id:
        await outbox.enqueue(
            session,
            team_id=tour.team_id,
            key=f"initiative:{initiative.id}:done",
            method="chat.postMessage",
            payload={"channel": tour.channel_id, **render_celebration(card=card).to_dict()},
            now=now,
        )
    opted_out = select(LoopOptOut.user_id).where(LoopOptOut.team_id == tour.team_id)
    respondents = await session.scalars(
        select(Participant.user_id).where(
            Participant.tour_id == tour.id,
            Participant.responded.is_(True),
            Participant.user_id.not_in(opted_out),
        )
    )
    loop = render_loop_closed(card=card, tour_title=tour.title).to_dict()
    told = list(respondents.all())
    # "You said, we did" waits for each person's working hours.
    when = await working_hours.not_before(session, tour=tour, user_ids=told, now=now)
    await outbox.enqueue_many(
        session,
        [
            Outgoing(
                key=f"initiative:{initiative.id}:loop:{user_id}",
                method="chat.postMessage",
                payload={"channel": user_id, **loop},
                not_before=when[user_id],
            )
            for user_id in told
        ],
        team_id=tour.team_id,
        now=now,
    )
    return True


async def _stop_pending(session: AsyncSession, initiative: Initiative) -> None:
    """Nothing more to nudge about: a waiting check-in is closed as skipped."""
    await session.execute(
        update(Checkin)
        .where(Checkin.initiative_id == initiative.id, Checkin.state.in_(PENDING))
        .values(state=CheckinState.SKIPPED)
        .execution_options(synchronize_session=False)
    )


async def _tell_leader(
    session: AsyncSession, *, tour: Tour, key: str, text: str, now: datetime
) -> None:
    await outbox.enqueue(
        session,
        team_id=tour.team_id,
        key=key,
        method="chat.postMessage",
        payload={"channel": tour.leader_id, "text": text},
        now=now,
    )


async def extend(
    session: AsyncSession,
    *,
    initiative: Initiative,
    tour: Tour,
    user_id: str,
    new_due: date,
    today: date,
    now: datetime,
) -> str | None:
    if initiative.owner_id != user_id:
        return "Only the initiative's owner can change its due date."
    if initiative.status is not InitiativeStatus.ACCEPTED:
        return NOT_UNDER_WAY
    if new_due <= today:
        return DAY_NOT_AHEAD
    initiative.due_date = new_due
    card = await card_of(session, initiative)
    await _tell_leader(
        session,
        tour=tour,
        key=f"initiative:{initiative.id}:due:{new_due.isoformat()}",
        text=render_new_due_for_leader(card=card),
        now=now,
    )
    return None


async def close(
    session: AsyncSession, *, initiative: Initiative, tour: Tour, user_id: str, now: datetime
) -> str | None:
    """The owner stops it without it being done; the leader is told."""
    if initiative.owner_id != user_id:
        return NOT_YOURS
    moved = await initiatives.move(session, initiative=initiative, event=InitiativeEvent.STOP)
    if moved.refused is Refused.NOT_ALLOWED:
        return NOT_UNDER_WAY
    initiative.next_checkin_at = None
    await _stop_pending(session, initiative)
    card = await card_of(session, initiative)
    await _tell_leader(
        session,
        tour=tour,
        key=f"initiative:{initiative.id}:closed",
        text=render_closed_for_leader(card=card),
        now=now,
    )
    return None


async def ask_overdue(
    session: AsyncSession, *, now: datetime, default_tz: str, limit: int = BATCH
) -> int:
    """Past its due date (in the owner's zone) and not done: ask the owner, once per due date,
    to set a new date, finish or close it; tell the leader."""
    rows = await session.execute(
        select(Initiative, Tour)
        .join(Tour, Tour.id == Initiative.tour_id)
        .where(
            Initiative.status == InitiativeStatus.ACCEPTED,
            Initiative.due_date < (now + timedelta(days=1)).date(),
            or_(
                Initiative.overdue_asked_for.is_(None),
                Initiative.overdue_asked_for != Initiative.due_date,
            ),
        )
        .order_by(Initiative.due_date)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Initiative)
    )
    asked = 0
    for initiative, tour in rows.all():
        assert initiative.due_date is not None
        assert initiative.owner_id is not None
        if local_today(now, owner_zone(initiative, default_tz)) <= initiative.due_date:
            continue
        initiative.overdue_asked_for = initiative.due_date
        card = await card_of(session, initiative)
        due = initiative.due_date.isoformat()
        await outbox.enqueue(
            session,
            team_id=tour.team_id,
            key=f"initiative:{initiative.id}:overdue:{due}",
            method="chat.postMessage",
            payload={"channel": initiative.owner_id, **render_overdue(card=card).to_dict()},
            now=now,
        )
        await _tell_leader(
            session,
            tour=tour,
            key=f"initiative:{initiative.id}:overdue-leader:{due}",
            text=render_overdue_for_leader(card=card),
            now=now,
        )
        asked += 1
    return asked


# --- the weekly update -------------------------------------------------------------------------
