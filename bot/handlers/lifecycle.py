"""Slack's word that the bot was removed from a workspace (`app_uninstalled`, or
`tokens_revoked` naming the bot's token): the outbox holds that workspace's messages, and
nothing of its data is deleted (docs/OPERATIONS.md says what is kept and how a re-install
resumes); installed by OAuth, the installation's tokens are deleted."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.handlers.context import claim_event, deps_of, register_listener
from bot.services.workspaces import stop_sending

log = logging.getLogger("bot.handlers")


async def _stop_sending(context: AsyncBoltContext, body: dict[str, Any], *, by: str) -> None:
    team_id = context.team_id
    org_wide = bool(context.is_enterprise_install) and bool(context.enterprise_id)
    if not team_id and not org_wide:  # an org-wide install's event may name the org alone
        log.warning("a revocation without a team ignored", extra={"event_type": by})
        return
    deps = deps_of(context)
    async with deps.sessions.begin() as session:
        await claim_event(session, context, body)
        stopped = await stop_sending(
            session,
            team_id=team_id,
            now=deps.clock.now(),
            by=by,
            installed_by_oauth=deps.installations is not None,
            enterprise_id=context.enterprise_id,
            org_wide=org_wide,
        )
    for team in stopped:  # its clients, cached token and directory entries
        deps.forget_team(team)
    log.warning(
        "Slack revoked the bot in this workspace; its messages are held, not sent, until it is "
        "re-installed",
        extra={"event_type": by},
    )


async def handle_app_uninstalled(body: dict[str, Any], context: AsyncBoltContext) -> None:
    await _stop_sending(context, body, by="app_uninstalled")


async def handle_tokens_revoked(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
) -> None:
    # `tokens` lists the users whose tokens went, by kind; the bot uses only its bot token,
    # so a revoked user token (`oauth`) changes nothing here.
    if not (event.get("tokens") or {}).get("bot"):
        return
    await _stop_sending(context, body, by="tokens_revoked")


def register(app: AsyncApp) -> None:
    register_listener(app.event("app_uninstalled"), handle_app_uninstalled)
    register_listener(app.event("tokens_revoked"), handle_tokens_revoked)
