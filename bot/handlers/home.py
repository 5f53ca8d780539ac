"""The App Home tab: published when a person opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.home import render_home
from bot.handlers.context import claim_event, deps_of, listener


@listener
async def handle_app_home_opened(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    if event.get("tab", "home") != "home":
        return
    deps = deps_of(context)
    async with deps.sessions.begin() as session:
        await claim_event(session, context, body)
    view = render_home(user_id=event["user"], command=deps.settings.partnerbot_command)
    await client.views_publish(user_id=event["user"], view=view.to_dict())


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(handle_app_home_opened)
