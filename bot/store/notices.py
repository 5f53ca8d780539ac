"""Telling a leader about a problem the outbox met on their behalf: a team channel Slack will not
let the bot post in (archived, deleted, or the bot not invited)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Tour
from bot.store import outbox

CHANNEL_PROBLEMS = {
    "channel_not_found": "can't find <#{channel}> any more (deleted, or private without me in it)",
    "is_archived": "can't post in <#{channel}>: it has been archived",
    "not_in_channel": "can't post in <#{channel}> because I'm not a member",
}


async def tell_leaders_about_channel(
    session: AsyncSession, *, team_id: str, channel: str, error: str, now: datetime
) -> int:
    """DM each leader whose tour posts in `channel`, once per channel and problem; returns how
    many were newly told."""
    leaders = await session.scalars(
        select(Tour.leader_id).where(Tour.team_id == team_id, Tour.channel_id == channel).distinct()
    )
    problem = CHANNEL_PROBLEMS.get(error, "can't post in <#{channel}> ({error})").format(
        channel=channel, error=error
    )
    text = (
        f"Heads up: I {problem}, so the team didn't get the message I tried to post there. "
        "Invite me back (`/invite @Partnerbot`) or pick another channel for the tour."
    )
    told = 0
    for leader_id in leaders.all():
        told += await outbox.enqueue(
            session,
            team_id=team_id,
            key=f"channel-problem:{team_id}:{channel}:{error}:{leader_id}",
            method="chat.postMessage",
            payload={"channel": leader_id, "text": text},
            now=now,
        )
    return told
