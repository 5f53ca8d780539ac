"""Queries and writes behind the leader's controls: co-leaders, the open tours someone leads, and
what a cancelled tour lets go of. Never commits."""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Answer,
    CoLeader,
    DmFocus,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Tour,
    TourKey,
    TourStatus,
)
from bot.store.inserts import insert_if_absent


async def co_leaders(session: AsyncSession, *, tour_id: int) -> list[str]:
    statement = select(CoLeader.user_id).where(CoLeader.tour_id == tour_id)
    return list((await session.scalars(statement)).all())


async def is_co_leader(session: AsyncSession, *, tour_id: int, user_id: str) -> bool:
    statement = select(CoLeader.user_id).where(
        CoLeader.tour_id == tour_id, CoLeader.user_id == user_id
    )
    return (await session.scalar(statement)) is not None


async def add_co_leader(session: AsyncSession, *, tour_id: int, user_id: str) -> bool:
    """False when they already were one."""
    inserted = await insert_if_absent(session, CoLeader, {"tour_id": tour_id, "user_id": user_id})
    return bool(inserted)


async def open_tours_led(session: AsyncSession, *, team_id: str, user_id: str) -> list[Tour]:
    """Open tours this person leads or co-leads, oldest first."""
    co_led = select(CoLeader.tour_id).where(CoLeader.user_id == user_id)
    statement = (
        select(Tour)
        .where(
            Tour.team_id == team_id,
            Tour.status == TourStatus.OPEN,
            or_(Tour.leader_id == user_id, Tour.id.in_(co_led)),
        )
        .order_by(Tour.id)
    )
    return list((await session.scalars(statement)).all())


async def asked(session: AsyncSession, *, tour_id: int) -> list[tuple[str, bool]]:
    """(user id, answered) of everyone the tour asked."""
    statement = (
        select(Participant.user_id, Participant.responded)
        .where(Participant.tour_id == tour_id)
        .order_by(Participant.id)
    )
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


# Messages to members a cancelled tour must not send any more: invitations and reminders still
# waiting in the outbox (for someone's working hours, a rate limit).
_MEMBER_KEYS = ("invite:", "remind:", "remind-now:")


async def let_go(session: AsyncSession, *, tour: Tour) -> None:
    """Delete everything a cancelled tour holds about people: answers, the key, who was asked,
    where their DM replies go, and its messages to them still waiting to be sent."""
    for model in (Answer, TourKey, Participant, DmFocus):
        await session.execute(delete(model).where(model.tour_id == tour.id))
    await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.PENDING,
            or_(
                *(
                    OutboxMessage.idempotency_key.startswith(f"tour:{tour.id}:{kind}")
                    for kind in _MEMBER_KEYS
                )
            ),
        )
    )
