"""When a non-urgent DM of a tour may go: in its recipient's working hours (the tour's window)
on their own clock, as the bot last learned it from Slack (the leader's zone when it never did),
and after their time off, which `time_off` reads from their Slack status."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deps import Deps
from bot.flows.working_hours import Away, away, prompt_at
from bot.models import Tour
from bot.store.people import known_zones
from bot.store.tours import unfinished_participants

log = logging.getLogger("bot.services.working_hours")

# Before an acknowledgement the status read gets this long (Slack wants the ack within 3 s);
# past it everyone counts as present, as when Slack does not answer.
QUICK_READ_SECONDS = 1.5


async def time_off(
    deps: Deps, people: Sequence[tuple[str, str]], *, quick: bool = False
) -> dict[str, Away]:
    """Who of these (team, user) is away now, by their Slack status, read from the team's
    `users.list` (Tier 2, a page per 200 people, kept by the directory for minutes) rather
    than one `users.info` each: 300 owners due at once cost one or two calls. Nothing of it
    is stored. When Slack will not say, everyone counts as present: a prompt that should have
    waited beats a prompt never sent. `quick`: before an acknowledgement (the short-timeout
    client, and QUICK_READ_SECONDS in all)."""
    if deps.client is None or not people:
        return {}
    found: dict[str, Away] = {}
    for team_id in dict.fromkeys(team for team, _ in people):
        now = deps.clock.now()
        client = await (deps.quick_client_for(team_id) if quick else deps.client_for(team_id))
        if client is None:  # no token for the workspace: nobody there counts as away
            continue
        try:
            async with asyncio.timeout(QUICK_READ_SECONDS if quick else None):
                members = await deps.directory.members(client, team_id=team_id, now=now)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            log.warning(
                "could not read Slack statuses", extra={"team": team_id, "error": str(error)}
            )
            continue
        for team, user_id in people:
            entry = members.get(user_id)
            if team != team_id or entry is None:
                continue
            time_off_now = away(entry.status, now=now, words=deps.settings.away_words)
            if time_off_now is not None:
                found[user_id] = time_off_now
    return found


async def away_among_unfinished(deps: Deps, tour: Tour) -> dict[str, Away]:
    """Who of the tour's people still to finish is away now (for "Remind now"), read before
    the caller's transaction so no Slack call holds its lock."""
    async with deps.sessions() as session:
        waiting = await unfinished_participants(session, tour_id=tour.id)
    return await time_off(deps, [(tour.team_id, p.user_id) for _, p in waiting])


async def not_before(
    session: AsyncSession,
    *,
    tour: Tour,
    user_ids: Sequence[str],
    now: datetime,
    time_off: Mapping[str, Away] | None = None,
) -> dict[str, datetime]:
    """For each person, `now` inside their window, else when it next opens; for someone away
    (`time_off`), their first window after it ends. Away with no end set, it goes in their next
    window anyway, to be read when they are back (as the tour's invitation does)."""
    zones = await known_zones(session, team_id=tour.team_id, user_ids=user_ids)
    zones[tour.leader_id] = tour.leader_tz
    hours = tour.working_hours
    away_now = time_off or {}
    return {
        user_id: prompt_at(now, zones.get(user_id, tour.leader_tz), hours, away_now.get(user_id))
        for user_id in user_ids
    }
