"""What several features' listeners share: the id a button carries, a private notice to the
person who clicked (the one way a click is answered, refusals included), and who may act for a
tour (its leader or a workspace admin); the initiative a button names."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.tour import render_notice_modal
from bot.deps import Deps
from bot.handlers.forms import is_number
from bot.models import Initiative, Tour
from bot.refusals import initiatives as initiative_refusals
from bot.refusals import tour as refused
from bot.services import initiatives, tour_controls
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


async def may_lead(
    deps: Deps,
    client: AsyncWebClient,
    tour: Tour,
    user_id: str,
    session: AsyncSession | None = None,
) -> bool:
    """Whether someone may act for a tour: its leader, a co-leader, or a workspace admin (the
    profile is cached, so a modal submission can ask before its acknowledgement). A caller
    inside a transaction passes its `session`: on SQLite a second one would wait for it."""
    if tour.leader_id == user_id:
        return True
    if session is not None:
        co_leader = await tour_controls.may_lead(session, tour=tour, user_id=user_id)
    else:
        async with deps.sessions() as own:
            co_leader = await tour_controls.may_lead(own, tour=tour, user_id=user_id)
    if co_leader:
        return True
    person = await deps.directory.person(
        client, team_id=tour.team_id, user_id=user_id, now=deps.clock.now()
    )
    return person.is_admin


async def quick_client(deps: Deps, team_id: str) -> AsyncWebClient:
    """`deps.quick_client` (no retries, a short timeout: for a check before the
    acknowledgement) with the request's team's token. Bolt authorized the request with that
    team's token, so one exists; if it vanished since (an uninstall), say so in one line."""
    client = await deps.quick_client_for(team_id)
    if client is None:
        raise RuntimeError(f"no bot token for workspace {team_id}: is the app installed there?")
    return client


async def leader_tour(
    deps: Deps,
    client: AsyncWebClient,
    body: dict[str, Any],
    *,
    tour_id: int | None,
    team_id: str,
    verb: str,
) -> Tour:
    """The team's tour `tour_id`, if the person who pressed the button may act on it (its
    leader or a workspace admin); otherwise a refusal that says why not."""
    tour = None
    if tour_id is not None:
        async with deps.sessions() as session:
            tour = await get_tour(session, tour_id=tour_id, team_id=team_id)
    if tour is None:
        raise refused.tour_gone()
    if not await may_lead(deps, client, tour, body["user"]["id"]):
        raise refused.not_the_leader(leader_id=tour.leader_id, verb=verb)
    return tour


async def initiative_from_button(
    deps: Deps, body: dict[str, Any], action: dict[str, Any], team_id: str
) -> tuple[Initiative, Tour]:
    """The initiative (of this team) a button names; else a refusal that says it is gone."""
    initiative_id = number_from_value(action)
    async with deps.sessions() as session:
        found = (
            await initiatives.get_initiative(session, initiative_id=initiative_id, team_id=team_id)
            if initiative_id is not None
            else None
        )
    if found is None:
        raise initiative_refusals.initiative_gone()
    return found
