"""The leader's controls over an open tour as units of work (issue #18): cancel it (members told
once, nothing kept but the counts), move its close date (members told once), add a co-leader
with the same rights. The caller has checked that the person may lead the tour."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks import Message
from bot.blocks.tour_controls import (
    render_close_date_moved,
    render_co_leader_added,
    render_tour_cancelled,
)
from bot.flows.tour import close_instant, local_today
from bot.flows.tour_controls import close_date_problem
from bot.models import Tour, TourStatus
from bot.services import home
from bot.store import outbox
from bot.store import tour_controls as store

log = logging.getLogger("bot.services.tour_controls")


async def may_lead(session: AsyncSession, *, tour: Tour, user_id: str) -> bool:
    """The leader or a co-leader (a workspace admin is the caller's to check)."""
    return tour.leader_id == user_id or await store.is_co_leader(
        session, tour_id=tour.id, user_id=user_id
    )


def _dm(user_id: str, message: Message) -> dict[str, Any]:
    return {"channel": user_id, **message.to_dict()}


async def cancel_tour(
    session: AsyncSession, *, tour: Tour, now: datetime, command: str = "/partner"
) -> bool:
    """Cancel an open tour (the caller holds its lock); False when it was not open."""
    if tour.status is not TourStatus.OPEN:
        return False
    asked = await store.asked(session, tour_id=tour.id)
    tour.status = TourStatus.CANCELLED
    tour.closed_at = now
    tour.asked_count = len(asked)
    tour.answered_count = sum(1 for _, answered in asked if answered)
    await store.let_go(session, tour=tour)
    told = render_tour_cancelled(title=tour.title, leader_id=tour.leader_id)
    await outbox.enqueue_many(
        session,
        [
            outbox.Outgoing(
                key=f"tour:{tour.id}:cancelled:{user_id}",
                method="chat.postMessage",
                payload=_dm(user_id, told),
            )
            for user_id, _ in asked
        ],
        team_id=tour.team_id,
        now=now,
    )
    await home.queue_leader_home(
        session, tour=tour, key=f"tour:{tour.id}:cancelled:home", now=now, command=command
    )
    log.info("tour cancelled", extra={"tour_id": tour.id, "asked": len(asked)})
    return True


@dataclass(frozen=True)
class Moved:
    problem: str | None = None  # why not, for the leader
    told: int = 0


async def move_close_date(
    session: AsyncSession, *, tour: Tour, close_date: date, now: datetime
) -> Moved:
    """Extend or shorten an open tour; everyone asked is told once about each new date."""
    if tour.status is not TourStatus.OPEN:
        return Moved(problem="This tour is not open any more.")
    problem = close_date_problem(
        close_date, current=tour.close_date, today=local_today(now, tour.leader_tz)
    )
    if problem:
        return Moved(problem=problem)
    tour.close_date = close_date
    tour.closes_at = close_instant(close_date, tour.leader_tz)
    asked = await store.asked(session, tour_id=tour.id)
    told = render_close_date_moved(
        title=tour.title, closes_at=tour.closes_at, leader_tz=tour.leader_tz
    )
    await outbox.enqueue_many(
        session,
        [
            outbox.Outgoing(
                key=f"tour:{tour.id}:close-date:{close_date.isoformat()}:{user_id}",
                method="chat.postMessage",
                payload=_dm(user_id, told),
            )
            for user_id, _ in asked
        ],
        team_id=tour.team_id,
        now=now,
    )
    log.info("close date moved", extra={"tour_id": tour.id, "close_date": close_date.isoformat()})
    return Moved(told=len(asked))


async def add_co_leader(session: AsyncSession, *, tour: Tour, user_id: str, now: datetime) -> bool:
    """Add a co-leader and tell them once; False when they already lead it."""
    if user_id == tour.leader_id or not await store.add_co_leader(
        session, tour_id=tour.id, user_id=user_id
    ):
        return False
    message = render_co_leader_added(
        title=tour.title,
        leader_id=tour.leader_id,
        tour_id=tour.id,
        is_open=tour.status is TourStatus.OPEN,
    )
    await outbox.enqueue(
        session,
        team_id=tour.team_id,
        key=f"tour:{tour.id}:co-lead:{user_id}",
        method="chat.postMessage",
        payload=_dm(user_id, message),
        now=now,
    )
    log.info("co-leader added", extra={"tour_id": tour.id})
    return True
