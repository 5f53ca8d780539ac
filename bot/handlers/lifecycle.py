"""Slack's word that the bot was removed from a workspace (`app_uninstalled`, or
`tokens_revoked` naming the bot's token): the outbox holds that workspace's messages, and
nothing is deleted (docs/OPERATIONS.md says what is kept and how a re-install resumes)."""

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
    if not team_id:
        log.warning("a revocation without a team ignored", extra={"event_type": by})
        return
    deps = deps_of(context)
    async with deps.sessions.begin() as session:
        await claim_event(session, context, body)
        await stop_sending(session, team_id=team_id, now=deps.clock.now(), by=by)
    deps.forget_team(team_id)  # its clients, cached token and directory entries
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
