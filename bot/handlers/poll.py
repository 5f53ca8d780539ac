"""Step 2 once the findings are posted: the team shares insights (a button or a reply in the
thread) and the leader closes the poll."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import unescape
from bot.blocks.findings import (
    FindingsAction,
    FindingsBlock,
    FindingsView,
    render_insight_modal,
)
from bot.blocks.metadata import PollMetadata
from bot.blocks.tour import render_notice_modal
from bot.db import scrub_deleted
from bot.handlers.common import leader_tour, number_from_value
from bot.handlers.context import (
    claim_event,
    claim_view,
    deps_of,
    register_listener,
    written_by_a_person,
)
from bot.handlers.forms import (
    field,
    is_number,
    state_values,
    text_field,
)
from bot.handlers.home import publish_home
from bot.models import ThemeSource
from bot.refusals import findings as refused
from bot.services import findings
from bot.store import findings as store

log = logging.getLogger("bot.handlers.poll")


# --- insights -------------------------------------------------------------------------------


async def handle_share_insight(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    await ack()
    deps = deps_of(context)
    poll_id = number_from_value(action)
    async with deps.sessions() as session:
        poll = (
            await store.get_poll(session, poll_id=poll_id, team_id=context.team_id or "")
            if poll_id is not None
            else None
        )
        themes = (
            await store.themes_of(session, tour_id=poll.tour_id, source=ThemeSource.FINAL)
            if poll is not None
            else []
        )
    if poll is None:
        raise refused.findings_gone()
    view = render_insight_modal(
        poll_id=poll.id, themes=[(theme.id, theme.label) for theme in themes]
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


async def handle_insight_submission(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    values = state_values(view)
    text = text_field(values, FindingsBlock.INSIGHT_TEXT).strip()
    if not text:
        await ack(
            response_action="errors",
            errors={FindingsBlock.INSIGHT_TEXT: "Write your insight here."},
        )
        return
    metadata = PollMetadata.read(view)
    poll_id = metadata.poll_id if metadata is not None else None
    chosen = field(values, FindingsBlock.INSIGHT_THEME)
    async with deps.sessions.begin() as session:
        poll = (
            await store.get_poll(session, poll_id=poll_id, team_id=context.team_id or "")
            if poll_id is not None
            else None
        )
        if poll is None:
            raise refused.findings_gone()
        themes = {
            theme.id
            for theme in await store.themes_of(
                session, tour_id=poll.tour_id, source=ThemeSource.FINAL
            )
        }
        theme_id = int(chosen) if isinstance(chosen, str) and is_number(chosen) else None
        if not await claim_view(session, context, view):
            await ack()  # a replay of an insight already stored
            return
        await store.add_insight(
            session,
            tour_id=poll.tour_id,
            theme_id=theme_id if theme_id in themes else None,
            text=text,
            now=deps.clock.now(),
        )
    await ack(
        response_action="update",
        view=render_notice_modal(
            title="Share an insight", text="Thank you — your insight is in, without your name."
        ).to_dict(),
    )


# --- closing the poll -------------------------------------------------------------------------


async def handle_close_poll(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    await ack()
    deps = deps_of(context)
    team_id = context.team_id or ""
    poll_id = number_from_value(action)
    async with deps.sessions() as session:
        poll = (
            await store.get_poll(session, poll_id=poll_id, team_id=team_id)
            if poll_id is not None
            else None
        )
    if poll is None:
        raise refused.poll_gone()
    tour = await leader_tour(
        deps, client, body, tour_id=poll.tour_id, team_id=team_id, verb="close the poll of"
    )
    async with deps.sessions.begin() as session:
        locked = await store.get_poll(session, poll_id=poll.id, team_id=team_id, lock=True)
        assert locked is not None
        closed = await findings.close_poll(session, poll=locked, now=deps.clock.now())
    if not closed:
        raise refused.poll_already_closed()
    deps.delivery.notify()
    await scrub_deleted(deps.engine)  # the votes the close forgot, from every file
    await publish_home(deps, client, team_id=team_id, user_id=tour.leader_id)


# --- insights from thread replies ------------------------------------------------------------


async def is_thread_reply(event: dict[str, Any]) -> bool:
    """Someone's reply in a thread of a channel message (the findings post, if it is one)."""
    return (
        event.get("channel_type") in ("channel", "group")
        and bool(event.get("thread_ts"))
        and event.get("thread_ts") != event.get("ts")
        and written_by_a_person(event)
    )


async def handle_thread_insight(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    """A reply under the findings post answers "what insights do you have?": keep it with the
    findings (without the writer's name); replies in any other thread are none of our business."""
    deps = deps_of(context)
    text = unescape(str(event.get("text") or "")).strip()
    async with deps.sessions.begin() as session:
        await claim_event(session, context, body)
        poll = await store.poll_by_message(
            session,
            team_id=context.team_id or "",
            channel_id=str(event.get("channel") or ""),
            message_ts=str(event.get("thread_ts") or ""),
        )
        if poll is None or not text:
            return
        await store.add_insight(
            session, tour_id=poll.tour_id, theme_id=None, text=text, now=deps.clock.now()
        )
    await client.chat_postEphemeral(
        channel=poll.channel_id,
        user=event["user"],
        text="Thanks — your reply is kept with these findings as an insight, without your name.",
    )


def register(app: AsyncApp) -> None:
    register_listener(app.action(FindingsAction.SHARE_INSIGHT.value), handle_share_insight)
    register_listener(app.view(FindingsView.INSIGHT.value), handle_insight_submission)
    register_listener(app.action(FindingsAction.CLOSE_POLL.value), handle_close_poll)
    register_listener(app.event("message", matchers=[is_thread_reply]), handle_thread_insight)
