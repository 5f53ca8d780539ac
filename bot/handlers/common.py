"""What several features' listeners share: the id a button carries, a private notice to the
person who clicked, and who may act for a tour (its leader or a workspace admin)."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.tour import render_notice_modal
from bot.deps import Deps
from bot.handlers.forms import is_number
from bot.models import Tour
from bot.store.tours import get_tour


def number_from_value(action: dict[str, Any]) -> int | None:
    """The row id a button carries (a tour, a poll, an initiative); None for anything else (it
    is checked against the team's own rows before use)."""
    value = str(action.get("value") or "")
    return int(value) if is_number(value) else None


async def notice(client: AsyncWebClient, body: dict[str, Any], title: str, text: str) -> None:
    """Tell the person who clicked, privately: an ephemeral reply under a message, or a small
    modal when the click came from the App Home or a modal (which have no response_url)."""
    if body.get("response_url"):
        try:
            await client.chat_postEphemeral(
                channel=body["channel"]["id"] if body.get("channel") else body["user"]["id"],
                user=body["user"]["id"],
                text=text,
            )
        except SlackApiError:
            # Not a member of the channel they clicked in (a public channel, previewed):
            # Slack refuses the ephemeral message there, so it goes to their DM.
            await client.chat_postMessage(channel=body["user"]["id"], text=text)
        return
    await client.views_open(
        trigger_id=body["trigger_id"], view=render_notice_modal(title=title, text=text).to_dict()
    )


async def may_lead(deps: Deps, client: AsyncWebClient, tour: Tour, user_id: str) -> bool:
    """Whether someone may act for a tour: its leader, or a workspace admin (the profile is
    cached, so a modal submission can ask before its acknowledgement)."""
    if tour.leader_id == user_id:
        return True
    return (await deps.directory.person(client, user_id=user_id, now=deps.clock.now())).is_admin


async def leader_tour(
    deps: Deps,
    client: AsyncWebClient,
    body: dict[str, Any],
    *,
    tour_id: int | None,
    team_id: str,
    verb: str,
) -> Tour | None:
    """The team's tour `tour_id`, if the person who pressed the button may act on it;
    otherwise tell them why not and return None. Only the leader and workspace admins may."""
    user_id = body["user"]["id"]
    tour = None
    if tour_id is not None:
        async with deps.sessions() as session:
            tour = await get_tour(session, tour_id=tour_id, team_id=team_id)
    if tour is None:
        await notice(client, body, "Partnerbot", "I can't find that tour any more.")
        return None
    if not await may_lead(deps, client, tour, user_id):
        await notice(
            client,
            body,
            "Listening tour",
            f"Only <@{tour.leader_id}>, who leads this tour, or a workspace admin can {verb} it.",
        )
        return None
    return tour
