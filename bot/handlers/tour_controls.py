"""`/partner tour cancel|extend <date>|co-lead @someone [tour number]`: the leader's controls over
an open tour. Leaders, co-leaders and workspace admins only; everyone else is told who can."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.kit import clip, format_day
from bot.db import scrub_deleted
from bot.deps import Deps
from bot.flows.commands import parse_command_text
from bot.flows.tour_controls import Control, ControlProblem, ControlVerb, is_control, parse_control
from bot.handlers.common import may_lead
from bot.handlers.context import deps_of, register_listener
from bot.models import Tour, TourStatus
from bot.refusals import tour as refused
from bot.services import tour_controls
from bot.store import tour_controls as store
from bot.store.tours import get_tour

VERB_WORDS = {
    ControlVerb.CANCEL: "cancel",
    ControlVerb.EXTEND: "change the close date of",
    ControlVerb.CO_LEAD: "add a co-leader to",
}


async def is_tour_control_command(command: dict[str, Any]) -> bool:
    parsed = parse_command_text(command.get("text"))
    return parsed.subcommand == "tour" and is_control(parsed.arguments)


async def _which_tour(deps: Deps, control: Control, *, team_id: str, user_id: str) -> Tour:
    """The tour the command is about; else a refusal that says which number to add."""
    async with deps.sessions() as session:
        if control.tour_id is not None:
            tour = await get_tour(session, tour_id=control.tour_id, team_id=team_id)
            if tour is None:
                raise refused.tour_number_unknown(control.tour_id)
            return tour
        led = await store.open_tours_led(session, team_id=team_id, user_id=user_id)
    if not led:
        raise refused.leads_no_open_tour()
    if len(led) > 1:
        listed = "; ".join(f"{tour.id}: {clip(tour.title, 80)}" for tour in led)
        raise refused.leads_several_tours(count=len(led), listed=listed)
    return led[0]


async def handle_tour_control(
    ack: AsyncAck,
    command: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    deps = deps_of(context)
    user_id = command["user_id"]
    team_id = context.team_id or ""
    control = parse_control(parse_command_text(command.get("text")).arguments)
    if isinstance(control, ControlProblem):
        raise refused.control_refused(control.message)
    found = await _which_tour(deps, control, team_id=team_id, user_id=user_id)
    if not await may_lead(deps, client, found, user_id):
        raise refused.not_a_leader_to_control(
            leader_id=found.leader_id, verb=VERB_WORDS[control.verb]
        )
    if control.verb is ControlVerb.CO_LEAD:
        await _check_co_leader(deps, client, team_id, control.user_id or "")
    said = await _apply(deps, control, found, team_id=team_id)
    deps.delivery.notify()
    if control.verb is ControlVerb.CANCEL and found.anonymous:
        await scrub_deleted(deps.engine)  # the key and answers the cancel deleted
    await respond(text=said, response_type="ephemeral")


async def _check_co_leader(deps: Deps, client: AsyncWebClient, team_id: str, user_id: str) -> None:
    """A refusal unless `user_id` is a person with an active account."""
    try:
        person = await deps.directory.person(
            client, team_id=team_id, user_id=user_id, now=deps.clock.now()
        )
    except SlackApiError:
        raise refused.co_leader_unknown(user_id) from None
    if person.deleted or person.is_bot:
        raise refused.co_leader_inactive(user_id)


async def _apply(deps: Deps, control: Control, found: Tour, *, team_id: str) -> str:
    now = deps.clock.now()
    async with deps.sessions.begin() as session:
        tour = await get_tour(session, tour_id=found.id, team_id=team_id, lock=True)
        if tour is None or tour.status is not TourStatus.OPEN:
            raise refused.not_open_to_control()
        if control.verb is ControlVerb.CANCEL:
            await tour_controls.cancel_tour(
                session, tour=tour, now=now, command=deps.settings.partnerbot_command
            )
            return (
                f"*{clip(tour.title, 300)}* is cancelled. The {tour.asked_count} people asked "
                "are told once; nothing they wrote is kept, only how many were asked "
                f"({tour.asked_count}) and answered ({tour.answered_count})."
            )
        if control.verb is ControlVerb.EXTEND:
            assert control.close_date is not None
            moved = await tour_controls.move_close_date(
                session, tour=tour, close_date=control.close_date, now=now
            )
            if moved.problem:
                raise refused.control_refused(moved.problem)
            return (
                f"*{clip(tour.title, 300)}* now closes at the end of "
                f"{format_day(control.close_date)}; the {moved.told} people asked are told once."
            )
        assert control.user_id is not None
        added = await tour_controls.add_co_leader(
            session, tour=tour, user_id=control.user_id, now=now
        )
        if not added:
            raise refused.already_leads(user_id=control.user_id, title=clip(tour.title, 300))
        return (
            f"<@{control.user_id}> now co-leads *{clip(tour.title, 300)}*, with the same rights "
            "as you; they've been told."
        )


def register(app: AsyncApp, *, command: str) -> None:
    """Before the tour's own command listener, which leaves these words to this one."""
    register_listener(app.command(command, matchers=[is_tour_control_command]), handle_tour_control)
