"""Step 4's weekly update as a tick job: each tour's quick wins, check-ins and overdue
initiatives once per local week, or a one-line quiet week. Keyed by the week, so a repeated or
late tick posts nothing twice; the caller owns the transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks import Message
from bot.blocks.checkins import (
    MissedLine,
    WinLine,
    render_digest,
    render_quiet_week,
)
from bot.flows.checkins import (
    Slot,
    Timing,
    following,
    timing,
    week_start,
)
from bot.flows.outcomes import InitiativeStatus
from bot.flows.tour import local_today, zone
from bot.models import (
    Checkin,
    CheckinState,
    Digest,
    Initiative,
    Outcome,
    QuickWin,
    Theme,
    Tour,
)
from bot.services.checkin_schedule import (
    digest_time,
)
from bot.services.checkins import BATCH, WEEK
from bot.services.initiatives import card_of
from bot.store import outbox
from bot.store.inserts import insert_if_absent

log = logging.getLogger("bot.services.digests")


async def post_due_digests(
    session: AsyncSession, *, now: datetime, default_tz: str, limit: int = BATCH
) -> int:
    """Each tour's weekly update, once per local week: sent, a one-line quiet week, or (past
    the grace) recorded as skipped. Returns how many were posted."""
    due = await session.scalars(
        select(Tour)
        .where(Tour.next_digest_at <= now)
        .order_by(Tour.next_digest_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    posted = 0
    for tour in due.all():
        # One tour's trouble must not hold up every other tour's update in this tick.
        try:
            async with session.begin_nested():
                posted += await _post_digests_of(session, tour=tour, now=now)
        except Exception:
            log.exception("weekly update failed", extra={"tour": tour.id})
    return posted


async def _post_digests_of(session: AsyncSession, *, tour: Tour, now: datetime) -> int:
    posted = 0
    at = digest_time(tour)
    while tour.next_digest_at is not None and tour.next_digest_at <= now:
        local_day = tour.next_digest_at.astimezone(zone(tour.leader_tz)).date()
        slot = Slot(week_start(local_day), tour.next_digest_at)
        if timing(slot.due_at, now) is Timing.STALE:
            message, state = None, "skipped"
        else:
            composed = await _digest(session, tour=tour, slot=slot, now=now)
            if composed is None:  # nothing under way any more: updates stop until there is
                tour.next_digest_at = None
                break
            message, state = composed[0], "quiet" if composed[1] else "sent"
        fresh = await insert_if_absent(
            session,
            Digest,
            {
                "tour_id": tour.id,
                "period": slot.period,
                "state": state,
                "until": slot.due_at if message is not None else None,
                "created_at": now,
            },
        )
        if fresh and message is not None and tour.channel_id:
            await outbox.enqueue(
                session,
                team_id=tour.team_id,
                key=f"tour:{tour.id}:digest:{slot.key}",
                method="chat.postMessage",
                payload={"channel": tour.channel_id, **message.to_dict()},
                now=now,
            )
            posted += 1
        nxt = following(
            slot, cadence_weeks=1, tz_name=tour.leader_tz, weekday=tour.digest_weekday, at=at
        )
        tour.next_digest_at = nxt.due_at
    return posted


async def _digest(
    session: AsyncSession, *, tour: Tour, slot: Slot, now: datetime
) -> tuple[Message, bool] | None:
    """The week's update and whether it is a quiet one; None when the tour has nothing under
    way or done (its update stops). It covers what happened since the last update posted (a
    week, if none was), up to this slot: late, moved or skipped updates count nothing twice."""
    last = await session.scalar(select(func.max(Digest.until)).where(Digest.tour_id == tour.id))
    since = last if last is not None else slot.due_at - WEEK
    until = slot.due_at
    initiatives = (
        await session.scalars(
            select(Initiative)
            .where(
                Initiative.tour_id == tour.id,
                or_(
                    Initiative.status == InitiativeStatus.ACCEPTED,
                    and_(
                        Initiative.status == InitiativeStatus.DONE,
                        Initiative.done_at > since,
                        Initiative.done_at <= until,
                    ),
                ),
            )
            .order_by(Initiative.id)
        )
    ).all()
    if not initiatives:
        return None
    ids = [i.id for i in initiatives]
    wins = (
        await session.execute(
            select(QuickWin, Initiative.title, Theme.label, Initiative.status, Initiative.progress)
            .join(Initiative, Initiative.id == QuickWin.initiative_id)
            .join(Outcome, Outcome.id == Initiative.outcome_id)
            .join(Theme, Theme.id == Outcome.theme_id)
            .where(
                Initiative.tour_id == tour.id,
                QuickWin.logged_at > since,
                QuickWin.logged_at <= until,
            )
            .order_by(QuickWin.logged_at)
        )
    ).all()
    answered = await session.scalar(
        select(func.count()).where(Checkin.initiative_id.in_(ids), Checkin.answered_at > since)
    )
    notes = await _notes_for_team(session, initiative_ids=ids, since=since, until=until)
    missed = (
        await session.execute(
            select(Initiative.owner_id, Initiative.title)
            .join(Checkin, Checkin.initiative_id == Initiative.id)
            .where(
                Initiative.id.in_(ids),
                Checkin.state == CheckinState.MISSED,
                Checkin.missed_at > since,
                Checkin.missed_at <= until,
            )
        )
    ).all()
    away = (
        await session.execute(
            select(Initiative.owner_id, Initiative.title)
            .join(Checkin, Checkin.initiative_id == Initiative.id)
            .where(
                Initiative.id.in_(ids),
                Checkin.state == CheckinState.AWAY,
                Checkin.due_at > since,
                Checkin.due_at <= until,
            )
        )
    ).all()
    today = local_today(now, tour.leader_tz)
    cards = [await card_of(session, i) for i in initiatives]
    overdue = [
        card
        for card, i in zip(cards, initiatives, strict=True)
        if i.status is InitiativeStatus.ACCEPTED and i.due_date is not None and i.due_date < today
    ]
    done = any(i.status is InitiativeStatus.DONE for i in initiatives)
    if not wins and not answered and not missed and not away and not overdue and not done:
        under_way = sum(i.status is InitiativeStatus.ACCEPTED for i in initiatives)
        return render_quiet_week(tour_title=tour.title, under_way=under_way), True
    message = render_digest(
        tour_title=tour.title,
        week_of=slot.period,
        wins=[
            WinLine(
                author_id=win.author_id,
                text=win.text,
                initiative=title,
                theme_label=label,
                status=status,
                progress=progress,
            )
            for win, title, label, status, progress in wins
        ],
        initiatives=cards,
        missed=[MissedLine(owner_id=str(owner), initiative=title) for owner, title in missed],
        overdue=overdue,
        today=today,
        notes=notes,
        away=[MissedLine(owner_id=str(owner), initiative=title) for owner, title in away],
    )
    return message, False


async def _notes_for_team(
    session: AsyncSession, *, initiative_ids: Sequence[int], since: datetime, until: datetime
) -> dict[int, str]:
    """Each initiative's newest note for the team from a check-in answered in the update's
    window: news once, not repeated every week after."""
    rows = await session.execute(
        select(Checkin.initiative_id, Checkin.note)
        .where(
            Checkin.initiative_id.in_(initiative_ids),
            Checkin.note.is_not(None),
            Checkin.answered_at > since,
            Checkin.answered_at <= until,
        )
        .order_by(Checkin.answered_at)
    )
    return {initiative_id: note for initiative_id, note in rows.all() if note}
