"""Step 4's rhythm in Slack: the owner answers a check-in (buttons and a short form, or a DM
reply, which the DM listener routes here), snoozes a week or goes on leave, answers the overdue
question; people opt out of "you said → we did" DMs; the leader moves the weekly update."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.checkins import (
    CheckinAction,
    CheckinBlock,
    CheckinView,
    render_checkin_modal,
    render_checkin_thanks,
    render_digest_modal,
    render_extend_modal,
    render_leave_modal,
    render_on_leave,
    render_snoozed,
)
from bot.blocks.metadata import CheckinMetadata, InitiativeMetadata, TourMetadata
from bot.blocks.tour import render_notice_modal
from bot.deps import Deps
from bot.flows.checkins import CheckinStatus
from bot.flows.tour import local_today
from bot.handlers.common import (
    initiative_from_button,
    leader_tour,
    may_lead,
    number_from_value,
    quick_client,
)
from bot.handlers.context import Replayed, claim_view, deps_of, register_listener
from bot.handlers.forms import field, is_number, state_values, text_field
from bot.handlers.home import publish_home
from bot.models import Checkin, Initiative, LoopOptOut, Tour
from bot.refusals import checkins as checkin_refusals
from bot.refusals import initiatives as initiative_refusals
from bot.services import checkins, closing
from bot.services.checkin_schedule import owner_zone, reschedule_digest
from bot.services.initiatives import get_initiative
from bot.store.inserts import insert_if_absent
from bot.store.tours import get_tour

STATUS_ACTION = re.compile(
    rf"^{re.escape(CheckinAction.STATUS)}\.({'|'.join(s.value for s in CheckinStatus)})$"
)


# --- answering ---------------------------------------------------------------------------------


async def checkin_from_button(
    session: AsyncSession, context: AsyncBoltContext, action: dict[str, Any], *, lock: bool = False
) -> tuple[Checkin, Initiative, Tour] | None:
    """The check-in (with its initiative and tour) whose id a button carries, in this team;
    None for a button without one or a check-in not found."""
    checkin_id = number_from_value(action)
    if checkin_id is None:
        return None
    return await checkins.get_checkin(
        session, checkin_id=checkin_id, team_id=context.team_id or "", lock=lock
    )


async def handle_status_button(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    """On track / At risk / Off track / Done: the short form, with that status chosen."""
    await ack()
    deps = deps_of(context)
    matched = STATUS_ACTION.match(str(action.get("action_id")))
    async with deps.sessions() as session:
        found = await checkin_from_button(session, context, action)
    if matched is None or found is None:
        raise checkin_refusals.checkin_gone()
    checkin, initiative, _ = found
    if initiative.owner_id != body["user"]["id"]:
        raise checkin_refusals.refused(checkins.NOT_YOURS)
    view = render_checkin_modal(
        checkin_id=checkin.id,
        title=initiative.title,
        status=CheckinStatus(matched.group(1)),
        progress=100 if matched.group(1) == CheckinStatus.DONE else initiative.progress,
        note=checkin.note,
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


async def handle_checkin_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    deps = deps_of(context)
    user_id = body["user"]["id"]
    metadata = CheckinMetadata.read(view)
    if metadata is None:
        raise checkin_refusals.check_in_form_out_of_date()
    values = state_values(view)
    try:
        status = CheckinStatus(str(field(values, CheckinBlock.STATUS)))
    except ValueError:
        await ack(response_action="errors", errors={CheckinBlock.STATUS: "Choose one."})
        return
    picked = str(field(values, CheckinBlock.PROGRESS) or "")
    progress = int(picked) if is_number(picked) else 0
    win = text_field(values, CheckinBlock.WIN).replace("\x00", "")
    try:
        async with deps.sessions.begin() as session:
            found = await checkins.get_checkin(
                session, checkin_id=metadata.checkin_id, team_id=context.team_id or "", lock=True
            )
            if found is None:
                raise checkin_refusals.checkin_gone()
            checkin, initiative, tour = found
            answered = await checkins.answer_checkin(
                session,
                checkin=checkin,
                initiative=initiative,
                tour=tour,
                user_id=user_id,
                status=status,
                progress=progress,
                note=text_field(values, CheckinBlock.NOTE),
                win=win,
                now=deps.clock.now(),
            )
            if answered.refused:
                raise checkin_refusals.refused(answered.refused)
            if not await claim_view(session, context, view):
                raise Replayed
            title = initiative.title
    except Replayed:
        await ack()
        return
    await ack()
    deps.delivery.notify()
    thanks = render_checkin_thanks(
        title=title, status=status.value, progress=progress, win=bool(win.strip())
    )
    await client.chat_postMessage(channel=user_id, text=thanks)
    await publish_home(deps, client, team_id=tour.team_id, user_id=user_id)


# --- snooze and leave --------------------------------------------------------------------------


async def handle_snooze(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()
    deps = deps_of(context)
    async with deps.sessions.begin() as session:
        found = await checkin_from_button(session, context, action, lock=True)
        if found is None:
            raise checkin_refusals.checkin_gone()
        refused = checkins.snooze(found[0], found[1], user_id=body["user"]["id"])
        text = ""
        if refused is None:
            initiative = found[1]
            tz_name = owner_zone(initiative, deps.settings.default_timezone)
            upcoming = initiative.next_checkin_at
            text = render_snoozed(
                title=initiative.title,
                next_day=local_today(upcoming, tz_name) if upcoming else None,
            )
    if refused is not None:
        raise checkin_refusals.refused(refused)
    await respond(replace_original=True, text=text)


async def handle_date_button(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    """On leave… and New date…: the owner picks a day, on their own calendar."""
    await ack()
    deps = deps_of(context)
    found = await _owned(deps, client, body, action, context.team_id or "")
    today = local_today(deps.clock.now(), owner_zone(found, deps.settings.default_timezone))
    if action["action_id"] == CheckinAction.LEAVE:
        view = render_leave_modal(initiative_id=found.id, today=today)
    else:
        view = render_extend_modal(initiative_id=found.id, due=found.due_date or today, today=today)
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


async def _owned(
    deps: Deps, client: AsyncWebClient, body: dict[str, Any], action: dict[str, Any], team_id: str
) -> Initiative:
    """The initiative the button names, if the person who clicked owns it."""
    found = await initiative_from_button(deps, body, action, team_id)
    if found[0].owner_id != body["user"]["id"]:
        raise initiative_refusals.not_the_owner()
    return found[0]


def _date(values: dict[str, dict[str, Any]], block_id: str) -> date | None:
    picked = field(values, block_id)
    try:
        return date.fromisoformat(picked) if isinstance(picked, str) else None
    except ValueError:
        return None


async def handle_leave_submission(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    user_id = body["user"]["id"]
    back_on = _date(state_values(view), CheckinBlock.LEAVE_UNTIL)
    metadata = InitiativeMetadata.read(view)
    if metadata is None:
        raise checkin_refusals.form_out_of_date()
    if back_on is None or back_on <= local_today(deps.clock.now(), "Pacific/Kiritimati"):
        # The latest "today" anywhere: a day that has come nowhere yet is surely ahead.
        await ack(
            response_action="errors",
            errors={CheckinBlock.LEAVE_UNTIL: "Pick the day you're back, after today."},
        )
        return
    async with deps.sessions.begin() as session:
        found = await get_initiative(
            session, initiative_id=metadata.initiative_id, team_id=context.team_id or "", lock=True
        )
        if found is None:
            raise checkin_refusals.initiative_gone()
        refused = await checkins.go_on_leave(
            session, initiative=found[0], user_id=user_id, back_on=back_on
        )
        if refused is not None:
            raise checkin_refusals.refused(refused)
        title = found[0].title
    await ack(
        response_action="update",
        view=render_notice_modal(
            title="On leave", text=render_on_leave(title=title, back_on=back_on)
        ).to_dict(),
    )


# --- past the due date -------------------------------------------------------------------------


async def handle_extend_submission(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    new_due = _date(state_values(view), CheckinBlock.NEW_DUE)
    metadata = InitiativeMetadata.read(view)
    if metadata is None:
        raise checkin_refusals.form_out_of_date()
    if new_due is None:
        await ack(response_action="errors", errors={CheckinBlock.NEW_DUE: "Pick a day."})
        return
    now = deps.clock.now()
    async with deps.sessions.begin() as session:
        found = await get_initiative(
            session, initiative_id=metadata.initiative_id, team_id=context.team_id or "", lock=True
        )
        if found is None:
            raise checkin_refusals.initiative_gone()
        initiative, tour = found
        refused = await closing.extend(
            session,
            initiative=initiative,
            tour=tour,
            user_id=body["user"]["id"],
            new_due=new_due,
            today=local_today(now, owner_zone(initiative, deps.settings.default_timezone)),
            now=now,
        )
        if refused is not None:
            raise checkin_refusals.refused(
                refused,
                field=CheckinBlock.NEW_DUE if refused == closing.DAY_NOT_AHEAD else None,
            )
    await ack()
    deps.delivery.notify()


async def handle_finish_or_stop(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    """From the overdue question: Mark done, or Close it."""
    await ack()
    deps = deps_of(context)
    team_id = context.team_id or ""
    owned = await _owned(deps, client, body, action, team_id)
    finishing = action["action_id"] == CheckinAction.FINISH
    async with deps.sessions.begin() as session:
        found = await get_initiative(session, initiative_id=owned.id, team_id=team_id, lock=True)
        assert found is not None
        initiative, tour = found
        if finishing:
            done = await closing.finish(
                session, initiative=initiative, tour=tour, now=deps.clock.now()
            )
            refused = None if done else checkins.NOT_UNDER_WAY
        else:
            refused = await closing.close(
                session,
                initiative=initiative,
                tour=tour,
                user_id=body["user"]["id"],
                now=deps.clock.now(),
            )
        title = initiative.title
    if refused is not None:
        raise initiative_refusals.refused(refused)
    deps.delivery.notify()
    text = (
        f"*{title}* is done. Congratulations — the team channel will hear about it."
        if finishing
        else f"Closed *{title}*. The leader knows."
    )
    await respond(replace_original=True, text=text)


# --- opting out, and the leader's weekly update settings --------------------------------------


async def handle_loop_opt_out(
    ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond
) -> None:
    await ack()
    deps = deps_of(context)
    async with deps.sessions.begin() as session:
        await insert_if_absent(
            session,
            LoopOptOut,
            {
                "team_id": context.team_id or "",
                "user_id": body["user"]["id"],
                "created_at": deps.clock.now(),
            },
        )
    await respond(
        replace_original=False,
        response_type="ephemeral",
        text="Done: you won't get these messages any more.",
    )


async def handle_digest_settings(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    await ack()
    deps = deps_of(context)
    tour = await leader_tour(
        deps,
        client,
        body,
        tour_id=number_from_value(action),
        team_id=context.team_id or "",
        verb="change the weekly update of",
    )
    view = render_digest_modal(
        tour_id=tour.id, weekday=tour.digest_weekday, minute=tour.digest_minute
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


async def handle_digest_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    deps = deps_of(context)
    values = state_values(view)
    day = str(field(values, CheckinBlock.DIGEST_DAY) or "")
    minute = str(field(values, CheckinBlock.DIGEST_TIME) or "")
    metadata = TourMetadata.read(view)
    if metadata is None:
        raise checkin_refusals.form_out_of_date()
    if not (is_number(day) and int(day) < 7 and is_number(minute) and int(minute) < 24 * 60):
        await ack(response_action="errors", errors={CheckinBlock.DIGEST_DAY: "Choose a day."})
        return
    async with deps.sessions() as session:
        tour = await get_tour(session, tour_id=metadata.tour_id, team_id=context.team_id or "")
    if tour is None or not await may_lead(
        deps, await quick_client(deps, tour.team_id), tour, body["user"]["id"]
    ):
        raise checkin_refusals.not_the_leader()
    async with deps.sessions.begin() as session:
        locked = await get_tour(session, tour_id=tour.id, team_id=tour.team_id, lock=True)
        assert locked is not None
        locked.digest_weekday, locked.digest_minute = int(day), int(minute)
        reschedule_digest(locked, now=deps.clock.now())
    await ack()
    await publish_home(deps, client, team_id=tour.team_id, user_id=body["user"]["id"])


def register(app: AsyncApp) -> None:
    register_listener(app.action(STATUS_ACTION), handle_status_button)
    register_listener(app.view(CheckinView.ANSWER.value), handle_checkin_submission)
    register_listener(app.action(CheckinAction.SNOOZE.value), handle_snooze)
    register_listener(app.action(CheckinAction.LEAVE.value), handle_date_button)
    register_listener(app.view(CheckinView.LEAVE.value), handle_leave_submission)
    register_listener(app.action(CheckinAction.EXTEND.value), handle_date_button)
    register_listener(app.view(CheckinView.EXTEND.value), handle_extend_submission)
    register_listener(app.action(CheckinAction.FINISH.value), handle_finish_or_stop)
    register_listener(app.action(CheckinAction.STOP.value), handle_finish_or_stop)
    register_listener(app.action(CheckinAction.LOOP_OPT_OUT.value), handle_loop_opt_out)
    register_listener(app.action(CheckinAction.DIGEST_SETTINGS.value), handle_digest_settings)
    register_listener(app.view(CheckinView.DIGEST.value), handle_digest_submission)
