"""A workspace's lifecycle as Slack reports it: uninstalled, or its bot token revoked. What
the bot keeps and for how long is in docs/OPERATIONS.md."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.store import workspaces


async def stop_sending(session: AsyncSession, *, team_id: str, now: datetime, by: str) -> None:
    """Slack revoked the bot in the workspace (`by`: the event that said so). Nothing more is
    sent there; what the outbox holds, and every tour, answer and initiative, is kept, so a
    re-install carries on where it stopped (`Delivery.reinstate_own_workspace`)."""
    await workspaces.revoke(session, team_id=team_id, now=now, by=by)
