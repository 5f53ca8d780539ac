"""A workspace's lifecycle as Slack reports it: uninstalled, or its bot token revoked. What
the bot keeps and for how long is in docs/OPERATIONS.md."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.store import installations, workspaces


async def stop_sending(
    session: AsyncSession,
    *,
    team_id: str | None,
    now: datetime,
    by: str,
    installed_by_oauth: bool = False,
    enterprise_id: str | None = None,
    org_wide: bool = False,
) -> list[str]:
    """Slack revoked the bot in the workspace (`by`: the event that said so). Nothing more is
    sent there; what the outbox holds, and every tour, answer and initiative, is kept, so a
    re-install carries on where it stopped (`Delivery.reinstate_own_workspace`, or the new
    installation's save). Installed by OAuth, the installation's tokens are deleted too
    (app_uninstalled: the whole installation; tokens_revoked: its bot token); an org-wide
    install's revocation (`org_wide`; its event may name no team) stops every workspace of the
    organisation the bot knows. The teams stopped."""
    teams = {team_id} if team_id else set()
    if installed_by_oauth and org_wide and enterprise_id:
        teams |= set(await workspaces.teams_of_enterprise(session, enterprise_id=enterprise_id))
    for team in sorted(teams):
        await workspaces.revoke(session, team_id=team, now=now, by=by)
    if installed_by_oauth:
        installed_in = {"enterprise_id": enterprise_id, "team_id": None if org_wide else team_id}
        if by == "tokens_revoked":
            await installations.forget_bot(session, **installed_in)
        else:
            await installations.remove(session, **installed_in)
    return sorted(teams)
