"""The App Home tab: published when a person opens it, and after a leader's tour changes."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.handlers.context import claim_event, deps_of, register_listener
from bot.services.home import home_view


async def publish_home(deps: Deps, client: AsyncWebClient, *, team_id: str, user_id: str) -> None:
    now = deps.clock.now()
    person = await deps.directory.person(client, team_id=team_id, user_id=user_id, now=now)
    async with deps.sessions() as session:
        view = await home_view(
            session,
            team_id=team_id,
            user_id=user_id,
            now=now,
            tz=person.tz,
            command=deps.settings.partnerbot_command,
        )
    await client.views_publish(user_id=user_id, view=view.to_dict())


async def handle_app_home_opened(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    if event.get("tab", "home") != "home":
        return
    deps = deps_of(context)
    async with deps.sessions.begin() as session:
        await claim_event(session, context, body)
    await publish_home(deps, client, team_id=context.team_id or "", user_id=event["user"])


def register(app: AsyncApp) -> None:
    register_listener(app.event("app_home_opened"), handle_app_home_opened)
