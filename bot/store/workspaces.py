"""Which workspaces Slack has revoked the bot in (app_uninstalled, tokens_revoked): the outbox
holds their rows until a re-install. One row per team, so a multi-workspace install can keep
its installations' state here too."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Exists, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import OutboxMessage, OutboxStatus, Workspace
from bot.store.inserts import upsert


def revoked(team_id: Any) -> Exists:
    """A condition: the team given (a column or a value) is revoked, so nothing is sent there."""
    return exists().where(Workspace.team_id == team_id, Workspace.revoked_at.is_not(None))


async def revoke(session: AsyncSession, *, team_id: str, now: datetime, by: str) -> None:
    """Slack revoked the bot in the team: its outbox rows wait from now on (a send already in
    flight finishes, or is refused by Slack and held like the rest)."""
    await upsert(
        session,
        Workspace,
        {"team_id": team_id, "revoked_at": now, "revoked_by": by[:32], "updated_at": now},
        conflict=("team_id",),
        update=("revoked_at", "revoked_by", "updated_at"),
    )


async def any_revoked(session: AsyncSession) -> bool:
    found = await session.scalar(
        select(Workspace.team_id).where(Workspace.revoked_at.is_not(None)).limit(1)
    )
    return found is not None


async def reinstate(
    session: AsyncSession,
    *,
    team_id: str,
    now: datetime,
    refused_errors: Collection[str] = (),
) -> bool:
    """The bot works in the team again (a re-install): its rows are sent once more; those that
    Slack's refusal of the old token put off (`last_error` in `refused_errors`) are due now,
    whether or not Slack's uninstall event came first (tokens are revoked before it is sent).
    True if the team was revoked."""
    was_revoked = bool(
        await session.scalar(
            select(Workspace.team_id).where(
                Workspace.team_id == team_id, Workspace.revoked_at.is_not(None)
            )
        )
    )
    await upsert(
        session,
        Workspace,
        {"team_id": team_id, "revoked_at": None, "revoked_by": None, "updated_at": now},
        conflict=("team_id",),
        update=("revoked_at", "revoked_by", "updated_at"),
    )
    if refused_errors:
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.team_id == team_id,
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.last_error.in_(list(refused_errors)),
                OutboxMessage.next_attempt_at > now,
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    return was_revoked


async def note_enterprise(
    session: AsyncSession, *, team_id: str, enterprise_id: str, now: datetime
) -> None:
    """The team belongs to the Enterprise Grid organisation `enterprise_id` (how an org-wide
    install is found for it)."""
    await upsert(
        session,
        Workspace,
        {"team_id": team_id, "enterprise_id": enterprise_id, "updated_at": now},
        conflict=("team_id",),
        update=("enterprise_id", "updated_at"),
    )


async def enterprise_of(session: AsyncSession, *, team_id: str) -> str | None:
    found: str | None = await session.scalar(
        select(Workspace.enterprise_id).where(Workspace.team_id == team_id)
    )
    return found


async def teams_of_enterprise(session: AsyncSession, *, enterprise_id: str) -> list[str]:
    teams = await session.scalars(
        select(Workspace.team_id).where(Workspace.enterprise_id == enterprise_id)
    )
    return list(teams)
