"""Tour queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Tour


async def list_tours(session: AsyncSession, *, team_id: str | None = None) -> Sequence[Tour]:
    statement = select(Tour).order_by(Tour.id)
    if team_id is not None:
        statement = statement.where(Tour.team_id == team_id)
    return (await session.scalars(statement)).all()


async def get_tour(
    session: AsyncSession, *, tour_id: int, team_id: str | None = None
) -> Tour | None:
    statement = select(Tour).where(Tour.id == tour_id)
    if team_id is not None:
        statement = statement.where(Tour.team_id == team_id)
    return await session.scalar(statement)
