"""Step 4's rhythm as units of work: scheduling an owner's check-ins, the tick jobs that send
what is due (check-ins, the one nudge, the "missed" mark, overdue questions; the weekly update
is bot/services/digests.py), the owner's answers (by form or DM), snoozing and leave, and
finishing an initiative with a celebration and a "you said → we did" DM to the people who
answered the tour.

All schedule state is in our tables. Each due item is claimed with FOR UPDATE SKIP LOCKED (on
PostgreSQL; SQLite serialises writers anyway) and carries an idempotency key made of its local
period, so repeated, concurrent or late ticks send it exactly once. The caller owns the
transaction; messages go through the outbox."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks import Message
from bot.blocks.checkins import (
    MAX_NOTE,
    render_checkin,
    render_checkin_thanks,
    render_checkin_unclear,
    render_confirm_done,
)
from bot.blocks.initiatives import InitiativeCard
from bot.flows.checkins import (
    CheckinStatus,
    Slot,
    Timing,
    following,
    next_day_slot,
    read_checkin_reply,
    timing,
)
from bot.flows.outcomes import InitiativeStatus
from bot.flows.tour import zone
from bot.flows.working_hours import Away
from bot.models import (
    Checkin,
    CheckinState,
    Initiative,
    Outcome,
    Theme,
    Tour,
)
from bot.services import initiatives
from bot.services.checkin_schedule import (
    next_slot,
    owner_zone,
    zone_check,
)
from bot.services.initiatives import card_from
from bot.store import outbox
from bot.store.inserts import insert_returning_id

log = logging.getLogger("bot.services.checkins")

# How many due items one tick takes per job; the rest wait for the next minute.
BATCH = 500
WEEK = timedelta(days=7)
PENDING = (CheckinState.SENT, CheckinState.NUDGED)


async def zones_to_refresh(
    session: AsyncSession, *, now: datetime, limit: int = 50
) -> list[tuple[Initiative, str]]:
    """Owners whose zone is due to be re-read (a day before each check-in), each initiative
    with its tour's team (whose token reads the owner's profile)."""
    rows = await session.execute(
        select(Initiative, Tour.team_id)
        .join(Tour, Tour.id == Initiative.tour_id)
        .where(
            Initiative.status == InitiativeStatus.ACCEPTED,
            Initiative.zone_check_at <= now,
        )
        .order_by(Initiative.zone_check_at)
        .limit(limit)
    )
    return [(initiative, str(team_id)) for initiative, team_id in rows]


# --- the tick: check-ins, nudges, missed -------------------------------------------------------


async def owners_due(
    session: AsyncSession, *, now: datetime, nudges: bool = False
) -> list[tuple[str, str]]:
    """Whose check-ins (or nudges) fall due now, as (team, owner): the tick reads their Slack
    status first."""
    statement = select(Tour.team_id, Initiative.owner_id).join(Tour, Tour.id == Initiative.tour_id)
    if nudges:
        statement = statement.join(Checkin, Checkin.initiative_id == Initiative.id).where(
            Checkin.state == CheckinState.SENT, Checkin.nudge_at <= now
        )
    else:
        statement = statement.where(
            Initiative.status == InitiativeStatus.ACCEPTED, Initiative.next_checkin_at <= now
        )
    rows = await session.execute(statement.distinct())
    return [(str(team), str(owner)) for team, owner in rows.all() if owner]


def _state_for(
    initiative: Initiative,
    slot: Slot,
    *,
    now: datetime,
    tz_name: str,
    time_off: Mapping[str, Away] | None = None,
) -> CheckinState:
    local_day = slot.due_at.astimezone(zone(tz_name)).date()
    if initiative.on_leave_until is not None and local_day < initiative.on_leave_until:
        return CheckinState.ON_LEAVE
    if (
        time_off
        and initiative.owner_id in time_off
        and timing(slot.due_at, now) is not Timing.STALE
    ):
        # Their Slack status says time off on check-in day: not asked, and not "missed".
        return CheckinState.AWAY
    if timing(slot.due_at, now) is Timing.STALE:
        return CheckinState.SKIPPED
    return CheckinState.SENT


async def send_due_checkins(
    session: AsyncSession,
    *,
    now: datetime,
    default_tz: str,
    limit: int = BATCH,
    time_off: Mapping[str, Away] | None = None,
) -> int:
    """Every check-in due by `now`: sent once per period (late within the grace), else recorded
    as skipped or on leave; each initiative then moves to its next period. Returns how many
    were sent."""
    due = await session.scalars(
        select(Initiative)
        .where(
            Initiative.status == InitiativeStatus.ACCEPTED,
            Initiative.next_checkin_at <= now,
        )
        .order_by(Initiative.next_checkin_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    initiatives = list(due.all())
    # What every check-in DM needs, read once for the batch (a tick's cost follows what is due).
    context = await _checkin_context(session, initiatives)
    sent = 0
    for initiative in initiatives:
        tz_name = owner_zone(initiative, default_tz)
        while initiative.next_checkin_at is not None and initiative.next_checkin_at <= now:
            slot = next_slot(initiative)
            state = _state_for(initiative, slot, now=now, tz_name=tz_name, time_off=time_off)
            checkin_id = await insert_returning_id(
                session,
                Checkin,
                {
                    "initiative_id": initiative.id,
                    "period": slot.period,
                    "due_at": slot.due_at,
                    "state": state,
                    "nudge_at": next_day_slot(slot.due_at, tz_name=tz_name)
                    if state is CheckinState.SENT
                    else None,
                },
            )
            if checkin_id is not None and state is CheckinState.SENT:
                team_id, card = context[initiative.id]
                await _enqueue_checkin(
                    session,
                    team_id=team_id,
                    card=card,
                    checkin_id=int(checkin_id),
                    period=slot.period,
                    now=now,
                )
                sent += 1
            nxt = following(
                slot,
                cadence_weeks=initiative.cadence_weeks,
                tz_name=tz_name,
                weekday=initiative.checkin_weekday,
            )
            initiative.next_period, initiative.next_checkin_at = nxt.period, nxt.due_at
            initiative.zone_check_at = zone_check(nxt)
    return sent


async def _checkin_context(
    session: AsyncSession, initiatives: Sequence[Initiative]
) -> dict[int, tuple[str, InitiativeCard]]:
    """Per initiative: its team and its card (theme and outcome), in one query."""
    if not initiatives:
        return {}
    rows = await session.execute(
        select(Initiative.id, Tour.team_id, Theme.label, Outcome.statement)
        .join(Tour, Tour.id == Initiative.tour_id)
        .join(Outcome, Outcome.id == Initiative.outcome_id)
        .join(Theme, Theme.id == Outcome.theme_id)
        .where(Initiative.id.in_([i.id for i in initiatives]))
    )
    found = {row[0]: (str(row[1]), str(row[2]), str(row[3])) for row in rows.all()}
    return {
        i.id: (
            found[i.id][0],
            card_from(i, theme_label=found[i.id][1], outcome=found[i.id][2], backers=0),
        )
        for i in initiatives
    }


async def _enqueue_checkin(
    session: AsyncSession,
    *,
    team_id: str,
    card: InitiativeCard,
    checkin_id: int,
    period: date,
    now: datetime,
    nudge: bool = False,
) -> None:
    assert card.owner_id is not None
    message = render_checkin(card=card, checkin_id=checkin_id, period=period, nudge=nudge)
    await outbox.enqueue(
        session,
        team_id=team_id,
        key=f"checkin:{card.initiative_id}:{period.isoformat()}:{'nudge' if nudge else 'ask'}",
        method="chat.postMessage",
        payload={"channel": card.owner_id, **message.to_dict()},
        now=now,
    )


async def send_due_nudges(
    session: AsyncSession,
    *,
    now: datetime,
    default_tz: str,
    limit: int = BATCH,
    time_off: Mapping[str, Away] | None = None,
) -> int:
    """No answer by the next day's slot: one nudge (or, past the grace, none), then the period
    waits one more day before it counts as missed."""
    rows = await session.execute(
        select(Checkin, Initiative)
        .join(Initiative, Initiative.id == Checkin.initiative_id)
        .where(Checkin.state == CheckinState.SENT, Checkin.nudge_at <= now)
        .order_by(Checkin.nudge_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Checkin)
    )
    nudged = 0
    found = rows.all()
    context = await _checkin_context(session, [initiative for _, initiative in found])
    for checkin, initiative in found:
        assert checkin.nudge_at is not None
        if initiative.status is not InitiativeStatus.ACCEPTED:
            checkin.state = CheckinState.SKIPPED
            continue
        if time_off and initiative.owner_id in time_off:
            # Gone on time off since they were asked: no nudge, and not "missed".
            checkin.state = CheckinState.AWAY
            continue
        tz_name = owner_zone(initiative, default_tz)
        checkin.state = CheckinState.NUDGED
        checkin.missed_at = next_day_slot(checkin.nudge_at, tz_name=tz_name)
        if timing(checkin.nudge_at, now) is Timing.ON_TIME:
            team_id, card = context[initiative.id]
            await _enqueue_checkin(
                session,
                team_id=team_id,
                card=card,
                checkin_id=checkin.id,
                period=checkin.period,
                now=now,
                nudge=True,
            )
            nudged += 1
    return nudged


async def mark_missed(session: AsyncSession, *, now: datetime) -> int:
    """Still no answer a day after the nudge: the period is missed; no further nagging."""
    result = await session.execute(
        update(Checkin)
        .where(Checkin.state == CheckinState.NUDGED, Checkin.missed_at <= now)
        .values(state=CheckinState.MISSED)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- the owner answers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    refused: str | None = None  # a sentence for the person, when nothing was recorded
    finished: bool = False


async def get_checkin(
    session: AsyncSession, *, checkin_id: int, team_id: str, lock: bool = False
) -> tuple[Checkin, Initiative, Tour] | None:
    query = (
        select(Checkin, Initiative, Tour)
        .join(Initiative, Initiative.id == Checkin.initiative_id)
        .join(Tour, Tour.id == Initiative.tour_id)
        .where(Checkin.id == checkin_id, Tour.team_id == team_id)
    )
    if lock:
        query = query.with_for_update(of=Checkin)
    row = (await session.execute(query)).first()
    return (row[0], row[1], row[2]) if row else None


NOT_YOURS = "Only the initiative's owner can check in on it."
NOT_UNDER_WAY = "This initiative isn't under way any more, so there's nothing to check in."


async def answer_checkin(
    session: AsyncSession,
    *,
    checkin: Checkin,
    initiative: Initiative,
    tour: Tour,
    user_id: str,
    status: CheckinStatus,
    progress: int,
    note: str | None,
    win: str | None,
    now: datetime,
) -> Answered:
    """Record the period's check-in (answering again overwrites it), update the initiative's
    status and progress, keep the quick win, and finish the initiative on Done."""
    if initiative.owner_id != user_id:
        return Answered(NOT_YOURS)
    if initiative.status is not InitiativeStatus.ACCEPTED:
        return Answered(NOT_UNDER_WAY)
    progress = max(0, min(100, progress))
    checkin.state = CheckinState.ANSWERED
    checkin.answered_at = now
    checkin.status = status.value
    checkin.progress = progress
    checkin.note = (note or "").strip() or None
    initiative.last_status = status.value
    initiative.progress = progress
    if win and win.strip():
        await initiatives.log_win(
            session, initiative=initiative, author_id=user_id, text=win, now=now
        )
    if status is CheckinStatus.DONE:
        # closing.py reads this module's states and wording: imported here, not at the top
        from bot.services.closing import finish

        await finish(session, initiative=initiative, tour=tour, now=now)
        return Answered(finished=True)
    return Answered()


async def pending_checkin(
    session: AsyncSession, *, team_id: str, user_id: str
) -> tuple[Checkin, Initiative, Tour] | None:
    """The owner's newest unanswered check-in, if any (what a DM reply answers)."""
    row = (
        await session.execute(
            select(Checkin, Initiative, Tour)
            .join(Initiative, Initiative.id == Checkin.initiative_id)
            .join(Tour, Tour.id == Initiative.tour_id)
            .where(
                Tour.team_id == team_id,
                Initiative.owner_id == user_id,
                Initiative.status == InitiativeStatus.ACCEPTED,
                Checkin.state.in_(PENDING),
            )
            .order_by(Checkin.due_at.desc())
            .limit(1)
            .with_for_update(of=Checkin)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def dm_checkin(
    session: AsyncSession, *, team_id: str, user_id: str, text: str, now: datetime
) -> Message | None:
    """A DM that starts with a status ("on track, 40% — win: …") from an owner with a check-in
    waiting: recorded as the check-in. "Done" only asks for confirmation with a button: from
    text alone, finishing (a channel celebration, DMs to the whole tour) is too easy to trigger.
    None when nothing waits or the DM does not start with a status."""
    reply = read_checkin_reply(text)
    if reply.status is None:
        return None
    pending = await pending_checkin(session, team_id=team_id, user_id=user_id)
    if pending is None:
        return None
    checkin, initiative, tour = pending
    if reply.status is CheckinStatus.DONE:
        return render_confirm_done(title=initiative.title, checkin_id=checkin.id)
    progress = reply.progress if reply.progress is not None else initiative.progress
    answered = await answer_checkin(
        session,
        checkin=checkin,
        initiative=initiative,
        tour=tour,
        user_id=user_id,
        status=reply.status,
        progress=progress,
        note=reply.note[:MAX_NOTE],
        win=reply.win,
        now=now,
    )
    if answered.refused:
        return Message(text=answered.refused)
    return Message(
        text=render_checkin_thanks(
            title=initiative.title,
            status=reply.status.value,
            progress=progress,
            win=bool(reply.win),
        )
    )


async def unclear_checkin(session: AsyncSession, *, team_id: str, user_id: str) -> Message | None:
    """For a DM nothing else understood, from an owner with a check-in waiting: how to answer."""
    pending = await pending_checkin(session, team_id=team_id, user_id=user_id)
    if pending is None:
        return None
    return Message(text=render_checkin_unclear(title=pending[1].title))


def snooze(checkin: Checkin, initiative: Initiative, *, user_id: str) -> str | None:
    """No check-in or nudge this week; None when done, else why not."""
    if initiative.owner_id != user_id:
        return NOT_YOURS
    if checkin.state in PENDING:  # a missed week stays missed
        checkin.state = CheckinState.SNOOZED
    return None


async def go_on_leave(
    session: AsyncSession, *, initiative: Initiative, user_id: str, back_on: date
) -> str | None:
    """No check-ins or nudges before `back_on`; the one waiting now is set aside too."""
    if initiative.owner_id != user_id:
        return NOT_YOURS
    initiative.on_leave_until = back_on
    await session.execute(
        update(Checkin)
        .where(Checkin.initiative_id == initiative.id, Checkin.state.in_(PENDING))
        .values(state=CheckinState.ON_LEAVE)
        .execution_options(synchronize_session=False)
    )
    return None
