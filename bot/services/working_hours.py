"""When a non-urgent DM of a tour may go: in its recipient's working hours (the tour's window)
on their own clock, as the bot last learned it from Slack (the leader's zone when it never did)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows.working_hours import next_allowed
from bot.models import Tour
from bot.store.people import known_zones


async def not_before(
    session: AsyncSession, *, tour: Tour, user_ids: Sequence[str], now: datetime
) -> dict[str, datetime]:
    """For each person, `now` inside their window, else when it next opens."""
    zones = await known_zones(session, team_id=tour.team_id, user_ids=user_ids)
    zones[tour.leader_id] = tour.leader_tz
    hours = tour.working_hours
    return {
        user_id: next_allowed(now, zones.get(user_id, tour.leader_tz), hours)
        for user_id in user_ids
    }
