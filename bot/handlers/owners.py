"""Step 4 for an initiative's owner: accept or decline what the leader committed to them (a
decline goes back to the leader to reassign), and log quick wins with `/partner win`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks import unescape
from bot.blocks.initiatives import (
    MAX_WIN,
    InitiativeAction,
    InitiativeBlock,
    InitiativeView,
    OwnedInitiative,
    render_decline_modal,
    render_offer_answered,
    render_win_logged,
    render_win_modal,
)
from bot.blocks.metadata import InitiativeMetadata
from bot.deps import Deps
from bot.flows.commands import parse_command_text
from bot.flows.outcomes import InitiativeStatus
from bot.handlers.common import initiative_from_button, number_from_value
from bot.handlers.context import (
    Replayed,
    claim_click,
    claim_view,
    deps_of,
    register_listener,
)
from bot.handlers.forms import field, is_number, state_values, text_field
from bot.handlers.home import publish_home
from bot.handlers.initiatives import request_redraw
from bot.models import Initiative, Tour
from bot.refusals import initiatives as initiative_refusals
from bot.services import initiatives

log = logging.getLogger("bot.handlers.owners")


# --- the owner answers -------------------------------------------------------------------------


async def _offered(
    deps: Deps,
    client: AsyncWebClient,
    body: dict[str, Any],
    action: dict[str, Any],
    team_id: str,
) -> tuple[Initiative, Tour]:
    """The initiative offered to the person who clicked; otherwise a refusal that says why."""
    found = await initiative_from_button(deps, body, action, team_id)
    initiative = found[0]
    if initiative.owner_id != body["user"]["id"]:
        raise initiative_refusals.not_offered_to_you()
    if initiative.status is InitiativeStatus.CLOSED:
        raise initiative_refusals.offer_closed()
    if initiative.status is not InitiativeStatus.OFFERED:
        raise initiative_refusals.already_answered()
    return found


async def _after_answer(
    deps: Deps,
    client: AsyncWebClient,
    *,
    initiative_id: int,
    tour: Tour,
    owner_id: str,
    accepted: bool,
) -> None:
    """Redraw the offer DMed to the owner (its buttons gone), the channel card, and both
    Homes."""
    deps.delivery.notify()
    async with deps.sessions() as session:
        found = await initiatives.get_initiative(
            session, initiative_id=initiative_id, team_id=tour.team_id
        )
        assert found is not None
        card = await initiatives.card_of(session, found[0])
        message = await initiatives.offer_message(
            session, initiative_id=initiative_id, team_id=tour.team_id
        )
    if message is not None:
        answered = render_offer_answered(
            card=card, accepted=accepted, command=deps.settings.partnerbot_command
        )
        await client.chat_update(channel=message[0], ts=message[1], **answered.to_dict())
    request_redraw(deps, client, initiative_id, tour.team_id)
    await publish_home(deps, client, team_id=tour.team_id, user_id=owner_id)
    await publish_home(deps, client, team_id=tour.team_id, user_id=tour.leader_id)


async def handle_accept(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    await ack()
    deps = deps_of(context)
    team_id = context.team_id or ""
    found = await _offered(deps, client, body, action, team_id)
    initiative, tour = found
    user_id = body["user"]["id"]
    # Check-ins run on the owner's clock: look it up now, outside the transaction. If Slack
    # cannot say, the default zone stands in until the re-read before the first check-in.
    owner_tz: str | None = None
    try:
        person = await deps.directory.person(
            client, team_id=team_id, user_id=user_id, now=deps.clock.now()
        )
        owner_tz = person.tz if person.has_tz else None
    except SlackApiError as error:
        log.warning("could not read an owner's time zone", extra={"error": str(error)})
    async with deps.sessions.begin() as session:
        if not await claim_click(session, context, body, action):
            return
        locked = await initiatives.get_initiative(
            session, initiative_id=initiative.id, team_id=team_id, lock=True
        )
        assert locked is not None
        moved = await initiatives.answer(
            session,
            initiative=locked[0],
            tour=locked[1],  # this session's copy: accepting may schedule its weekly update
            user_id=user_id,
            accept=True,
            reason=None,
            now=deps.clock.now(),
            owner_tz=owner_tz,
            default_tz=deps.settings.default_timezone,
        )
    if moved.refused is not None:
        raise initiative_refusals.already_answered()
    await _after_answer(
        deps,
        client,
        initiative_id=initiative.id,
        tour=tour,
        owner_id=user_id,
        accepted=True,
    )


async def handle_decline_button(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    await ack()
    deps = deps_of(context)
    found = await _offered(deps, client, body, action, context.team_id or "")
    view = render_decline_modal(initiative_id=found[0].id, title=found[0].title)
    view.private_metadata = InitiativeMetadata(initiative_id=found[0].id).dump()
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


async def handle_decline_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    deps = deps_of(context)
    team_id = context.team_id or ""
    user_id = body["user"]["id"]
    metadata = InitiativeMetadata.read(view)
    reason = text_field(state_values(view), InitiativeBlock.REASON)
    if not reason.strip():
        await ack(
            response_action="errors",
            errors={InitiativeBlock.REASON: "Say why, so the leader can find a better fit."},
        )
        return
    try:
        async with deps.sessions.begin() as session:
            found = (
                await initiatives.get_initiative(
                    session, initiative_id=metadata.initiative_id, team_id=team_id, lock=True
                )
                if metadata
                else None
            )
            if found is None:
                raise initiative_refusals.initiative_gone()
            moved = await initiatives.answer(
                session,
                initiative=found[0],
                tour=found[1],
                user_id=user_id,
                accept=False,
                reason=reason,
                now=deps.clock.now(),
            )
            if moved.refused is not None:
                raise (
                    initiative_refusals.not_offered_to_you(declining=True)
                    if found[0].owner_id != user_id
                    else initiative_refusals.already_answered()
                )
            if not await claim_view(session, context, view):
                raise Replayed
    except Replayed:
        await ack()
        return
    await ack()
    assert metadata is not None
    assert found is not None
    await _after_answer(
        deps,
        client,
        initiative_id=metadata.initiative_id,
        tour=found[1],
        owner_id=user_id,
        accepted=False,
    )


# --- quick wins --------------------------------------------------------------------------------


async def is_win_command(command: dict[str, Any]) -> bool:
    return parse_command_text(command.get("text")).subcommand == "win"


async def _owned(deps: Deps, team_id: str, user_id: str) -> list[Initiative]:
    async with deps.sessions() as session:
        return await initiatives.owned(session, team_id=team_id, user_id=user_id)


async def _log_win(
    session: AsyncSession,
    deps: Deps,
    *,
    team_id: str,
    user_id: str,
    initiative_id: int,
    text: str,
) -> Initiative | None:
    """Log a win on an initiative the person owns and has taken on; None if they don't."""
    found = await initiatives.get_initiative(session, initiative_id=initiative_id, team_id=team_id)
    if (
        found is None
        or found[0].owner_id != user_id
        or found[0].status is not InitiativeStatus.ACCEPTED
    ):
        return None
    await initiatives.log_win(
        session, initiative=found[0], author_id=user_id, text=text, now=deps.clock.now()
    )
    return found[0]


async def handle_win_command(
    ack: AsyncAck,
    command: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    deps = deps_of(context)
    team_id = context.team_id or ""
    user_id = command["user_id"]
    # Slack escapes &, < and > in what was typed; the win is stored as the person wrote it.
    typed = unescape(parse_command_text(command.get("text")).arguments).replace("\x00", "")
    text = typed[:MAX_WIN]
    mine = await _owned(deps, team_id, user_id)

    async def tell(message: str) -> None:
        await respond(text=message, response_type="ephemeral", replace_original=False)

    if not mine:
        async with deps.sessions() as session:
            offered = await initiatives.owned(
                session,
                team_id=team_id,
                user_id=user_id,
                statuses=(InitiativeStatus.OFFERED,),
            )
        raise initiative_refusals.no_initiatives(command["command"], offered=len(offered))
    if len(mine) == 1 and text.strip() and len(typed) <= MAX_WIN:
        async with deps.sessions.begin() as session:
            logged = await _log_win(
                session, deps, team_id=team_id, user_id=user_id, initiative_id=mine[0].id, text=text
            )
        if logged is not None:
            await tell(render_win_logged(title=logged.title))
            return
    view = render_win_modal(initiatives=[OwnedInitiative(i.id, i.title) for i in mine], text=text)
    await client.views_open(trigger_id=command["trigger_id"], view=view.to_dict())


async def handle_win_button(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    await ack()
    deps = deps_of(context)
    mine = await _owned(deps, context.team_id or "", body["user"]["id"])
    if not mine:
        raise initiative_refusals.no_initiatives(deps.settings.partnerbot_command)
    view = render_win_modal(
        initiatives=[OwnedInitiative(i.id, i.title) for i in mine],
        text="",
        preselected=number_from_value(action),
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


async def handle_win_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    deps = deps_of(context)
    user_id = body["user"]["id"]
    values = state_values(view)
    picked = field(values, InitiativeBlock.WIN_FOR)
    text = text_field(values, InitiativeBlock.WIN_TEXT)
    if not text.strip():
        await ack(response_action="errors", errors={InitiativeBlock.WIN_TEXT: "Say what happened."})
        return
    if not (isinstance(picked, str) and is_number(picked)):
        await ack(response_action="errors", errors={InitiativeBlock.WIN_FOR: "Choose one."})
        return
    try:
        async with deps.sessions.begin() as session:
            logged = await _log_win(
                session,
                deps,
                team_id=context.team_id or "",
                user_id=user_id,
                initiative_id=int(picked),
                text=text,
            )
            if logged is None:
                raise initiative_refusals.not_your_initiative()
            if not await claim_view(session, context, view):
                raise Replayed
    except Replayed:
        await ack()
        return
    await ack()
    await client.chat_postMessage(channel=user_id, text=render_win_logged(title=logged.title))


def register(app: AsyncApp, *, command: str) -> set[str]:
    """Register what an owner does in step 4; returns the subcommands now served."""
    register_listener(app.command(command, matchers=[is_win_command]), handle_win_command)
    register_listener(app.action(InitiativeAction.ACCEPT.value), handle_accept)
    register_listener(app.action(InitiativeAction.DECLINE.value), handle_decline_button)
    register_listener(app.view(InitiativeView.DECLINE.value), handle_decline_submission)
    register_listener(app.action(InitiativeAction.LOG_WIN.value), handle_win_button)
    register_listener(app.view(InitiativeView.WIN.value), handle_win_submission)
    return {"win"}
