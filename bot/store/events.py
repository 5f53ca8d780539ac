"""Slack event de-duplication: an `event_id` counts as handled once its row commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ProcessedEvent
from bot.store.inserts import insert_if_absent


async def event_seen(session: AsyncSession, *, event_id: str) -> bool:
    return bool(await session.scalar(select(exists().where(ProcessedEvent.event_id == event_id))))


class EventClaim(NamedTuple):
    """A Slack event (or a click, or a submission) to record as handled: a ProcessedEvent row."""

    event_id: str
    team_id: str
    event_type: str
    received_at: datetime


async def record_event(session: AsyncSession, claim: EventClaim) -> bool:
    """Claim the event in the caller's transaction; False when another delivery already has."""
    return await insert_if_absent(session, ProcessedEvent, claim._asdict())


async def prune_events(session: AsyncSession, *, older_than: datetime) -> int:
    """Slack retries for minutes, never days: old event ids need not be kept."""
    result = await session.execute(
        delete(ProcessedEvent).where(ProcessedEvent.received_at < older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def click_kind(action_id: str, scope: str | None = None) -> str:
    """The `event_type` of a click's claim. A `scope` ("poll:12") finds the claims of one
    thing's clicks again, to delete them (`forget_claims`): a click's claim names who clicked."""
    return (f"click {action_id} {scope}" if scope else f"click {action_id}")[:64]


async def forget_claims(session: AsyncSession, *, team_id: str, event_types: Sequence[str]) -> None:
    await session.execute(
        delete(ProcessedEvent).where(
            ProcessedEvent.team_id == team_id, ProcessedEvent.event_type.in_(event_types)
        )
    )
