"""What the bot already knows of people without asking Slack: the time zone Slack gave them
when they were last invited to a tour."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Participant


async def known_zones(
    session: AsyncSession, *, team_id: str, user_ids: Sequence[str]
) -> dict[str, str]:
    """Each person's zone as of their latest tour invitation; people never invited are absent."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(Participant.user_id, Participant.tz)
        .where(Participant.team_id == team_id, Participant.user_id.in_(list(user_ids)))
        .order_by(Participant.id)
    )
    return {str(user_id): str(tz) for user_id, tz in rows.all() if tz}
