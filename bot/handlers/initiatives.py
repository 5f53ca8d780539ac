"""Step 4 in Slack: anyone on the team proposes an initiative for an agreed outcome and teammates
back it; the leader commits a few to owners under the tour's cap; owners accept or decline (the
leader reassigns); owners log quick wins with `/partner win`."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from bot.blocks.initiatives import (
    InitiativeAction,
    InitiativeBlock,
    InitiativeView,
    render_back_ack,
    render_cap_reached,
    render_commit_modal,
    render_initiative_card,
    render_offer_held,
    render_propose_modal,
)
from bot.blocks.metadata import InitiativeMetadata, ProposeMetadata
from bot.blocks.tour import render_notice_modal
from bot.deps import Deps
from bot.flows.commands import parse_command_text
from bot.flows.outcomes import InitiativeDraft, InitiativeStatus, Refused
from bot.flows.tour import local_today
from bot.handlers.common import initiative_from_button, may_lead, number_from_value, quick_client
from bot.handlers.context import (
    Replayed,
    claim_click,
    claim_view,
    deps_of,
    register_listener,
)
from bot.handlers.forms import field, is_number, state_values, text_field
from bot.handlers.home import publish_home
from bot.models import Initiative, Outcome, Tour
from bot.refusals import initiatives as initiative_refusals
from bot.services import initiatives, outcomes
from bot.services.working_hours import time_off
from bot.store.tours import get_tour

log = logging.getLogger("bot.handlers.initiatives")

DEFAULT_DUE_WEEKS = 6


async def on_team(
    deps: Deps, client: AsyncWebClient, tour: Tour, user_id: str, *, channel_id: str | None
) -> bool:
    """Whether someone is on the tour's team: they led it, were asked in it, shape its
    outcomes, or are in its team channel (where its proposals are posted)."""
    if tour.channel_id and channel_id == tour.channel_id:
        return True
    async with deps.sessions() as session:
        if await initiatives.took_part(session, tour=tour, user_id=user_id):
            return True
    if not tour.channel_id:
        return False
    return await deps.directory.is_member(
        client,
        team_id=tour.team_id,
        channel_id=tour.channel_id,
        user_id=user_id,
        now=deps.clock.now(),
    )


# --- proposing ---------------------------------------------------------------------------------


async def _open_propose(
    deps: Deps,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_id: str,
    trigger_id: str,
    channel_id: str | None,
    tour_id: int | None,
) -> bool:
    """Open the proposal modal with the outcomes this person may propose for; False when
    there are none."""
    async with deps.sessions() as session:
        tours = await initiatives.tours_with_outcomes(session, team_id=team_id)
    if tour_id is not None:
        tours = [tour for tour in tours if tour.id == tour_id]
    allowed = [
        tour.id
        for tour in tours
        if await on_team(deps, client, tour, user_id, channel_id=channel_id)
    ]
    async with deps.sessions() as session:
        options = await initiatives.outcome_options(session, tour_ids=allowed)
    if not options:
        return False
    view = render_propose_modal(outcomes=options)
    await client.views_open(trigger_id=trigger_id, view=view.to_dict())
    return True


async def is_initiative_command(command: dict[str, Any]) -> bool:
    return parse_command_text(command.get("text")).subcommand == "initiative"


async def handle_initiative_command(
    ack: AsyncAck,
    command: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    await ack()
    deps = deps_of(context)
    opened = await _open_propose(
        deps,
        client,
        team_id=context.team_id or "",
        user_id=command["user_id"],
        trigger_id=command["trigger_id"],
        channel_id=command.get("channel_id"),
        tour_id=None,
    )
    if not opened:
        raise initiative_refusals.no_outcomes(command["command"])


async def handle_propose_button(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    await ack()
    deps = deps_of(context)
    opened = await _open_propose(
        deps,
        client,
        team_id=context.team_id or "",
        user_id=body["user"]["id"],
        trigger_id=body["trigger_id"],
        channel_id=(body.get("channel") or {}).get("id"),
        tour_id=number_from_value(action),
    )
    if not opened:
        raise initiative_refusals.not_on_the_team()


PROPOSAL_FIELDS: dict[str, str] = {
    "outcome": InitiativeBlock.OUTCOME,
    "title": InitiativeBlock.TITLE,
    "implications": InitiativeBlock.IMPLICATIONS,
    "tracking": InitiativeBlock.TRACKING,
}


async def handle_propose_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
) -> None:
    deps = deps_of(context)
    user_id = body["user"]["id"]
    team_id = context.team_id or ""
    values = state_values(view)
    picked = field(values, InitiativeBlock.OUTCOME)
    outcome_id = int(picked) if isinstance(picked, str) and is_number(picked) else -1
    draft = InitiativeDraft(
        # A title is shown everywhere and stored as a short string: no NUL in it.
        title=text_field(values, InitiativeBlock.TITLE).replace("\x00", ""),
        implications=text_field(values, InitiativeBlock.IMPLICATIONS),
        tracking=text_field(values, InitiativeBlock.TRACKING),
        first_quick_win=text_field(values, InitiativeBlock.QUICK_WIN),
    )
    suggested = field(values, InitiativeBlock.SUGGESTED_OWNER)
    # The outcomes this person was offered when the form opened (after the team check), as
    # Slack returns them: no Slack call before the ack.
    proposed = ProposeMetadata.read(view)
    offered = proposed.outcomes if proposed is not None else []
    if outcome_id not in offered:
        raise initiative_refusals.not_on_the_tours_team()
    try:
        async with deps.sessions.begin() as session:
            try:
                initiative, tour = await initiatives.propose(
                    session,
                    team_id=team_id,
                    outcome_id=outcome_id,
                    proposer_id=user_id,
                    draft=draft,
                    suggested_owner_id=str(suggested) if suggested else None,
                    now=deps.clock.now(),
                )
            except outcomes.OutcomeError as refused:
                errors = {
                    PROPOSAL_FIELDS[key]: problem
                    for key, problem in refused.problems.items()
                    if key in PROPOSAL_FIELDS
                }
                await ack(response_action="errors", errors=errors)
                return
            if not await claim_view(session, context, view):
                raise Replayed
    except Replayed:
        await ack()
        return
    await ack()
    deps.delivery.notify()
    log.info("initiative proposed", extra={"tour": tour.id, "initiative": initiative.id})


# --- backing -----------------------------------------------------------------------------------


async def redraw_card(
    deps: Deps, client: AsyncWebClient, *, initiative_id: int, team_id: str
) -> None:
    """Redraw a proposal's card in the team channel from what is stored now."""
    async with deps.sessions() as session:
        found = await initiatives.get_initiative(
            session, initiative_id=initiative_id, team_id=team_id
        )
        where = await initiatives.card_message(session, initiative_id=initiative_id)
        if found is None or where is None:
            return
        card = await initiatives.card_of(session, found[0])
    channel, ts = where
    await client.chat_update(channel=channel, ts=ts, **render_initiative_card(card).to_dict())


def request_redraw(deps: Deps, client: AsyncWebClient, initiative_id: int, team_id: str) -> None:
    deps.coalescer.request(
        f"initiative:{initiative_id}",
        lambda: redraw_card(deps, client, initiative_id=initiative_id, team_id=team_id),
    )


async def handle_back(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    deps = deps_of(context)
    team_id = context.team_id or ""
    user_id = body["user"]["id"]

    async def tell(text: str) -> None:
        await respond(text=text, response_type="ephemeral", replace_original=False)

    initiative, tour = await initiative_from_button(deps, body, action, team_id)
    if initiative.proposer_id == user_id:
        await tell(render_back_ack(backed=False, title=initiative.title, own=True))
        return
    if initiative.status is not InitiativeStatus.PROPOSED:
        raise initiative_refusals.backing_closed()
    channel_id = (body.get("channel") or {}).get("id")
    if not await on_team(deps, client, tour, user_id, channel_id=channel_id):
        raise initiative_refusals.not_on_the_team_to_back()
    async with deps.sessions.begin() as session:
        if not await claim_click(session, context, body, action):
            return
        locked = await initiatives.get_initiative(
            session, initiative_id=initiative.id, team_id=team_id, lock=True
        )
        assert locked is not None
        if locked[0].status is not InitiativeStatus.PROPOSED:
            raise initiative_refusals.backing_closed()  # decided meanwhile: the claim rolls back
        backed, _ = await initiatives.toggle_backing(session, initiative=locked[0], user_id=user_id)
    request_redraw(deps, client, initiative.id, team_id)
    await tell(render_back_ack(backed=backed, title=initiative.title))


# --- the leader commits ------------------------------------------------------------------------


async def _led_initiative(
    deps: Deps,
    client: AsyncWebClient,
    body: dict[str, Any],
    action: dict[str, Any],
    team_id: str,
    *,
    doing: str = "commit initiatives",
) -> tuple[Initiative, Tour]:
    found = await initiative_from_button(deps, body, action, team_id)
    if not await may_lead(deps, client, found[1], body["user"]["id"]):
        raise initiative_refusals.not_the_leader(leader_id=found[1].leader_id, doing=doing)
    return found


async def handle_withdraw(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    """The leader takes back an offer its owner has not answered (from the App Home)."""
    await ack()
    deps = deps_of(context)
    team_id = context.team_id or ""
    found = await _led_initiative(deps, client, body, action, team_id, doing="withdraw an offer")
    async with deps.sessions.begin() as session:
        locked = await initiatives.get_initiative(
            session, initiative_id=found[0].id, team_id=team_id, lock=True
        )
        assert locked is not None
        initiative, tour = locked
        moved = await initiatives.withdraw(
            session, initiative=initiative, tour=tour, now=deps.clock.now()
        )
        owner_id = initiative.owner_id
    if moved.refused is not None:
        raise initiative_refusals.already_answered_offer()
    deps.delivery.notify()
    request_redraw(deps, client, initiative.id, team_id)
    await publish_home(deps, client, team_id=team_id, user_id=tour.leader_id)
    if owner_id:
        await publish_home(deps, client, team_id=team_id, user_id=owner_id)


async def handle_commit_button(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    await ack()
    deps = deps_of(context)
    found = await _led_initiative(deps, client, body, action, context.team_id or "")
    initiative, tour = found
    cap = deps.settings.initiative_cap
    async with deps.sessions() as session:
        active = await initiatives.active_count(session, tour_id=tour.id)
        card = await initiatives.card_of(session, initiative)
        target = await session.scalar(
            select(Outcome.target_date).where(Outcome.id == initiative.outcome_id)
        )
    if initiative.status not in (InitiativeStatus.PROPOSED, InitiativeStatus.DECLINED):
        owner = f"<@{initiative.owner_id}>" if initiative.owner_id else "an owner"
        raise initiative_refusals.already_committed(owner=owner)
    if active >= cap:
        raise initiative_refusals.cap_reached(render_cap_reached(cap))
    today = local_today(deps.clock.now(), tour.leader_tz)
    fallback = today + timedelta(weeks=DEFAULT_DUE_WEEKS)
    default_due = min(target, fallback) if target and target > today else fallback
    view = render_commit_modal(
        card=card, active=active, cap=cap, today=today, default_due=default_due
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


COMMIT_FIELDS: dict[str, str] = {
    "title": InitiativeBlock.TITLE,
    "implications": InitiativeBlock.IMPLICATIONS,
    "due": InitiativeBlock.DUE,
    "cadence": InitiativeBlock.CADENCE,
    "checkin_day": InitiativeBlock.CHECKIN_DAY,
    "owner": InitiativeBlock.OWNER,
}


async def handle_commit_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    deps = deps_of(context)
    team_id = context.team_id or ""
    metadata = InitiativeMetadata.read(view)
    async with deps.sessions() as session:
        found = (
            await initiatives.get_initiative(
                session, initiative_id=metadata.initiative_id, team_id=team_id
            )
            if metadata
            else None
        )
    quick = await quick_client(deps, team_id)
    if found is None or not await may_lead(deps, quick, found[1], body["user"]["id"]):
        raise initiative_refusals.not_the_leader_to_commit()
    tour = found[1]
    values = state_values(view)
    owner_id = str(field(values, InitiativeBlock.OWNER) or "")
    picked_due = field(values, InitiativeBlock.DUE)
    cadence = field(values, InitiativeBlock.CADENCE)
    day = str(field(values, InitiativeBlock.CHECKIN_DAY) or "0")
    errors: dict[str, str] = {}
    if not owner_id:
        errors[InitiativeBlock.OWNER] = "Choose who owns it."
    else:
        owner = await deps.directory.person(
            quick, team_id=team_id, user_id=owner_id, now=deps.clock.now()
        )
        if owner.is_bot or owner.deleted:
            errors[InitiativeBlock.OWNER] = "Choose a person who is still in the workspace."
    try:
        due = date.fromisoformat(picked_due) if isinstance(picked_due, str) else None
    except ValueError:
        due = None
    if due is None:
        errors[InitiativeBlock.DUE] = "Pick a due date."
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    assert due is not None
    now = deps.clock.now()
    commitment = initiatives.Commitment(
        owner_id=owner_id,
        due_date=due,
        cadence_weeks=int(cadence) if isinstance(cadence, str) and is_number(cadence) else 0,
        # A title is shown everywhere and stored as a short string: no NUL in it.
        title=text_field(values, InitiativeBlock.TITLE).replace("\x00", ""),
        implications=text_field(values, InitiativeBlock.IMPLICATIONS),
        checkin_weekday=int(day) if is_number(day) else -1,
    )
    cap = deps.settings.initiative_cap
    # Whether the owner is away, by Slack status (quick, bounded: before the ack): the offer
    # then waits until they are back, and the leader is told so while still deciding.
    owner_away = (await time_off(deps, [(team_id, owner_id)], quick=True)).get(owner_id)
    try:
        async with deps.sessions.begin() as session:
            # The tour row first: two commits at once must not both fit under the cap.
            await get_tour(session, tour_id=tour.id, team_id=team_id, lock=True)
            locked = await initiatives.get_initiative(
                session, initiative_id=found[0].id, team_id=team_id, lock=True
            )
            assert locked is not None
            try:
                moved = await initiatives.commit(
                    session,
                    initiative=locked[0],
                    tour=tour,
                    commitment=commitment,
                    today=local_today(now, tour.leader_tz),
                    now=now,
                    cap=cap,
                    time_off=owner_away,
                )
            except outcomes.OutcomeError as refused:
                await ack(
                    response_action="errors",
                    errors={
                        COMMIT_FIELDS[k]: v
                        for k, v in refused.problems.items()
                        if k in COMMIT_FIELDS
                    },
                )
                return
            if moved.refused is Refused.CAP_REACHED:
                raise initiative_refusals.cap_reached(render_cap_reached(cap))
            if moved.refused is not None:
                raise initiative_refusals.already_committed()
            if not await claim_view(session, context, view):
                raise Replayed
    except Replayed:
        await ack()
        return
    if owner_away is None:
        await ack()
    else:
        back = local_today(owner_away.until, tour.leader_tz) if owner_away.until else None
        held = render_offer_held(owner_id=owner_id, back=back)
        await ack(
            response_action="update",
            view=render_notice_modal(title="Initiative offered", text=held).to_dict(),
        )
    deps.delivery.notify()
    log.info(
        "initiative committed",
        extra={"tour": tour.id, "initiative": found[0].id, "owner_away": owner_away is not None},
    )
    request_redraw(deps, client, found[0].id, team_id)
    await publish_home(deps, client, team_id=team_id, user_id=tour.leader_id)


def register(app: AsyncApp, *, command: str) -> set[str]:
    """Register step 4's proposing, backing and committing; returns the subcommands served."""
    register_listener(
        app.command(command, matchers=[is_initiative_command]), handle_initiative_command
    )
    register_listener(app.action(InitiativeAction.PROPOSE.value), handle_propose_button)
    register_listener(app.view(InitiativeView.PROPOSE.value), handle_propose_submission)
    register_listener(app.action(InitiativeAction.BACK.value), handle_back)
    register_listener(
        app.action(re.compile(rf"^{re.escape(InitiativeAction.COMMIT)}(\.\d+)?$")),
        handle_commit_button,
    )
    register_listener(app.view(InitiativeView.COMMIT.value), handle_commit_submission)
    register_listener(
        app.action(re.compile(rf"^{re.escape(InitiativeAction.WITHDRAW)}\.\d+$")), handle_withdraw
    )
    return {"initiative"}
