"""The listening tour in Slack: `/partner tour` and its modal, members' DM replies and answer
form, and the leader's Remind / Close / Export buttons."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Literal

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import Message, unescape
from bot.blocks.findings import FindingsAction
from bot.blocks.kit import input_action_id
from bot.blocks.metadata import AnswerFormMetadata, LaunchMetadata
from bot.blocks.tour import (
    TourAction,
    TourView,
    answer_block,
    render_answer_form,
    render_export_message,
    render_launch_modal,
    render_notice_modal,
    render_remind_outcome,
    withheld_reason,
)
from bot.db import retry_when_locked, scrub_deleted
from bot.delivery import error_code
from bot.deps import Deps
from bot.flows.commands import parse_command_text
from bot.flows.tour import (
    DEFAULT_OPEN_DAYS,
    DEFAULT_QUESTIONS,
    MAX_QUESTIONS,
    LaunchBlock,
    LaunchForm,
    default_title,
    local_today,
    parse_prefill,
    question_block,
    validate_launch,
)
from bot.flows.tour_controls import is_control
from bot.handlers import naming
from bot.handlers.common import leader_tour, notice, number_from_value, quick_client
from bot.handlers.context import (
    Replayed,
    claim_view,
    deps_of,
    event_claim,
    register_listener,
    written_by_a_person,
)
from bot.handlers.forms import field, is_number, state_values, text_field
from bot.handlers.home import publish_home
from bot.models import Tour
from bot.refusals import tour as refused
from bot.scheduler import suggest_themes_for
from bot.services import answers, dm, launch, tour_export
from bot.services import tour as tours
from bot.services.working_hours import away_among_unfinished
from bot.store import outbox
from bot.store.tours import get_tour

log = logging.getLogger("bot.handlers.tour")


async def is_tour_command(command: dict[str, Any]) -> bool:
    """`tour` and anything but a control word (bot/handlers/tour_controls.py)."""
    parsed = parse_command_text(command.get("text"))
    return parsed.subcommand == "tour" and not is_control(parsed.arguments)


# --- leader: launching ------------------------------------------------------------------------


async def handle_tour_command(
    ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    await ack()
    deps = deps_of(context)
    now = deps.clock.now()
    prefill = parse_prefill(parse_command_text(command.get("text")).arguments)
    typed_in = str(command.get("channel_id") or "")
    results = prefill.channel_id or (typed_in if typed_in.startswith(("C", "G")) else None)
    team_id = context.team_id or ""
    leader = await deps.directory.person(
        client, team_id=team_id, user_id=command["user_id"], now=now
    )
    today = local_today(now, leader.tz)
    view = render_launch_modal(
        title=default_title(today),
        user_ids=prefill.user_ids,
        channel_id=prefill.channel_id,
        results_channel_id=results,
        questions=DEFAULT_QUESTIONS,
        close_date=date.fromordinal(today.toordinal() + DEFAULT_OPEN_DAYS),
        today=today,
        private_metadata=LaunchMetadata(leader_tz=leader.tz).dump(),
        working_hours=deps.settings.working_hours,
    )
    # The trigger_id expires about 3 s after the command: open the modal first, then look up
    # what the submission will need while the leader fills it in.
    await client.views_open(trigger_id=command["trigger_id"], view=view.to_dict())
    if results:
        await deps.directory.channel(client, team_id=team_id, channel_id=results, now=now)


async def handle_results_channel_picked(
    ack: AsyncAck, action: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    """The leader picked the findings channel: learn now whether the bot is in it."""
    await ack()
    deps = deps_of(context)
    channel_id = action.get("selected_conversation")
    if channel_id:
        await deps.directory.channel(
            client,
            team_id=context.team_id or "",
            channel_id=str(channel_id),
            now=deps.clock.now(),
            refresh=True,
        )


def read_launch_form(view: dict[str, Any]) -> LaunchForm:
    values = state_values(view)

    def typed(block_id: str) -> str:
        # Titles and questions are shown everywhere; a stray NUL has no place in them.
        return text_field(values, block_id).replace("\x00", "")

    minimum = text_field(values, LaunchBlock.MIN_RESPONSES).strip()
    picked_date = field(values, LaunchBlock.CLOSE_DATE)
    try:
        close_date = date.fromisoformat(picked_date) if picked_date else None
    except ValueError:
        close_date = None
    return LaunchForm(
        title=typed(LaunchBlock.TITLE),
        user_ids=tuple(field(values, LaunchBlock.PEOPLE) or ()),
        channel_id=field(values, LaunchBlock.CHANNEL),
        questions=tuple(typed(question_block(i)) for i in range(MAX_QUESTIONS)),
        anonymous=field(values, LaunchBlock.ANONYMITY) != "named",
        min_responses=int(minimum) if is_number(minimum) else None,
        close_date=close_date,
        results_channel_id=field(values, LaunchBlock.RESULTS),
        reminders="on" in (field(values, LaunchBlock.REMINDERS) or []),
        working_hours=text_field(values, LaunchBlock.WORKING_HOURS).strip(),
    )


async def results_channel_problem(deps: Deps, team_id: str, channel_id: str) -> str | None:
    """Why the bot could not post in the results channel, or None if it can.

    Usually answered from the cache the command and the channel pick filled; a cached "no" is
    checked again (the leader may have just invited the bot) with the quick client."""
    now = deps.clock.now()
    quick = await quick_client(deps, team_id)
    try:
        access = await deps.directory.channel(
            quick, team_id=team_id, channel_id=channel_id, now=now
        )
        if not access.is_member:
            access = await deps.directory.channel(
                quick, team_id=team_id, channel_id=channel_id, now=now, refresh=True
            )
    except SlackApiError as error:
        if error.response.status_code != 429 and error.response.status_code < 500:
            raise
        # Slack is busy: the launch is not held up for it. The channel is first posted to
        # when the findings are, and a refusal then tells the leader (bot/store/notices.py).
        log.warning("could not check the results channel", extra={"error": error_code(error)})
        return None
    invite = "Type `/invite @Partnerbot` in that channel, then submit again."
    if not access.visible:
        return f"I can't see that channel (private channels need an invite). {invite}"
    if access.is_archived:
        return "That channel is archived; pick one where the team talks."
    if not access.is_member:
        return f"I'm not a member of <#{channel_id}> yet. {invite}"
    return None


async def handle_tour_launch_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    deps = deps_of(context)
    leader_id = body["user"]["id"]
    team_id = context.team_id or ""
    form = read_launch_form(view)
    opened = LaunchMetadata.read(view)
    # A modal opened by an older version: the close date is checked in UTC.
    leader_tz = opened.leader_tz if opened is not None else "UTC"
    now = deps.clock.now()
    errors = validate_launch(form, today=local_today(now, leader_tz))
    if not errors and form.results_channel_id:
        problem = await results_channel_problem(deps, team_id, form.results_channel_id)
        if problem:
            errors[LaunchBlock.RESULTS] = problem
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    # Stored before any Slack call: working out the audience (a channel's members, the
    # directory) may be held up by a rate limit, and the submission must not be lost.
    async with deps.sessions.begin() as session:
        if not await claim_view(session, context, view):
            log.info("replayed launch submission ignored")
            return
        tour = await launch.start_launch(
            session,
            team_id=team_id,
            enterprise_id=context.enterprise_id,
            leader_id=leader_id,
            leader_tz=leader_tz,
            form=form,
            bot_user_id=context.bot_user_id,
            now=now,
        )
        tour.quote_min_responses = deps.settings.quote_min_responses
    try:
        await launch.resolve_launch(deps, tour.id)  # at once; put off to the tick if Slack is busy
    except Exception:
        # The tour is stored as launching: the launch job tries again within seconds, and the
        # leader hears from it. Saying "something went wrong" here would not be true.
        log.exception("launching at once failed; the launch job will try again")
    try:
        await publish_home(deps, client, team_id=team_id, user_id=leader_id)
    except SlackApiError as error:
        # The App Home is redrawn whenever it is opened; the leader has their DM either way.
        log.warning("could not redraw the App Home", extra={"error": error_code(error)})


# --- members: replying ----------------------------------------------------------------------


async def is_direct_message(event: dict[str, Any]) -> bool:
    """A person's own new message in their DM with the bot (not an edit, join or bot post)."""
    return event.get("channel_type") == "im" and written_by_a_person(event)


async def handle_dm_reply(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    deps = deps_of(context)
    user_id = event["user"]

    team_id, text = context.team_id or "", unescape(str(event.get("text") or ""))
    message_ts = str(event.get("ts") or "0")

    async def answer() -> outbox.Queued:
        # The DM router decides what the message is and how its answer is written; the reply
        # is queued in the outbox with the answer (a rate-limited reply is sent later, not lost).
        return await dm.answer_dm(
            deps,
            team_id=team_id,
            user_id=user_id,
            text=text,
            message_ts=message_ts,
            event=event_claim(context, body),
        )

    # Already acknowledged: Slack will not send it again, so a busy database must not lose it.
    queued = await retry_when_locked(answer)
    await deps.delivery.send_now(queued)
    await naming.warn_after_dm(
        deps,
        client,
        team_id=team_id,
        user_id=user_id,
        channel=str(event.get("channel") or user_id),
        text=text,
    )


async def handle_answer_form_button(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    await ack()
    deps = deps_of(context)
    tour_id = number_from_value(action)
    mode: Literal["edit", "add"] = "add" if action["action_id"] == TourAction.ADD_MORE else "edit"
    if tour_id is None:
        raise refused.button_without_tour()
    async with deps.sessions.begin() as session:
        result = await answers.answer_form(
            session, team_id=context.team_id or "", user_id=body["user"]["id"], tour_id=tour_id
        )
    if isinstance(result, Message):
        raise refused.answer_form_refused(result.text)
    view = render_answer_form(
        tour_id=result.tour.id,
        title=result.tour.title,
        questions=result.questions,
        answers=result.answers,
        mode=mode,
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


async def handle_answer_form_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    deps = deps_of(context)
    metadata = AnswerFormMetadata.read(view)
    if metadata is None:
        raise refused.form_out_of_date()
    values = state_values(view)
    if not values:
        # A form always reports its boxes, empty or not: without them, nothing can be read,
        # and an edit must not be taken for "every answer emptied".
        raise refused.form_out_of_date()
    typed = {i: text_field(values, answer_block(i + 1)) for i in range(MAX_QUESTIONS)}
    user_id, team_id, now = body["user"]["id"], context.team_id or "", deps.clock.now()
    names = naming.cached_names(deps, team_id)
    try:
        async with deps.sessions.begin() as session:
            await naming.check_form(  # an answer naming someone: said once, inline
                session,
                team_id=team_id,
                user_id=user_id,
                tour_id=metadata.tour_id,
                view_id=str(view.get("id") or ""),
                typed=typed,
                names=names,
            )
            saved = await answers.save_answer_form(
                session,
                team_id=team_id,
                user_id=user_id,
                tour_id=metadata.tour_id,
                mode=metadata.mode,
                values=typed,
            )
            # Claimed with what it saved: a replayed "Add more" must not add the text twice.
            if saved.tour_open and not await claim_view(session, context, view):
                raise Replayed
            queued = None
            if saved.tour_open:  # the reply (their answers) is queued with what it reports
                queued = await answers.queue_reply(
                    session,
                    answers.reply_to(
                        user_id, saved.reply, team_id=team_id, source=f"form:{view['id']}"
                    ),
                    team_id=team_id,
                    now=now,
                    lease_for=deps.delivery.lease_for,
                )
    except Replayed:
        await ack()
        return
    except naming.Warned as warned:  # nothing saved; Save again keeps the words
        await ack(response_action="errors", errors=warned.errors)
        return
    if queued is None:
        await ack(
            response_action="update",
            view=render_notice_modal(title="Listening tour", text=saved.reply.text).to_dict(),
        )
        return
    await ack()
    await deps.delivery.send_now(queued)


# --- leader: Remind, Close, Export ----------------------------------------------------------


LEADER_VERBS = {
    TourAction.REMIND: "send reminders for",
    TourAction.CLOSE: "close",
    TourAction.EXPORT: "export",
}


async def handle_leader_button(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    """Remind now, Close now and Export, from the App Home or the leader's DM."""
    await ack()
    deps = deps_of(context)
    team_id = context.team_id or ""
    kind = TourAction(action["action_id"])
    tour = await leader_tour(
        deps,
        client,
        body,
        tour_id=number_from_value(action),
        team_id=team_id,
        verb=LEADER_VERBS[kind],
    )
    if kind is TourAction.EXPORT:
        await _send_export(deps, client, body, tour)
        return
    away_now = await away_among_unfinished(deps, tour) if kind is TourAction.REMIND else {}
    async with deps.sessions.begin() as session:
        locked = await get_tour(session, tour_id=tour.id, team_id=team_id, lock=True)
        assert locked is not None
        if kind is TourAction.REMIND:
            reminded = await tours.remind_now(
                session, tour=locked, now=deps.clock.now(), time_off=away_now
            )
        else:
            closed = await tours.close_tour(
                session,
                tour=locked,
                now=deps.clock.now(),
                command=deps.settings.partnerbot_command,
            )
    deps.delivery.notify()
    if kind is TourAction.REMIND:
        await notice(
            client,
            body,
            "Reminders",
            render_remind_outcome(reminded, anonymous=locked.anonymous, automatic=locked.reminders),
        )
        return
    if not closed:
        raise refused.already_closed()
    await scrub_deleted(deps.engine)  # the key the close destroyed, from every file
    # Group the answers now rather than at the next tick, so the review is ready at once.
    await suggest_themes_for(deps, tour.id)


async def _send_export(
    deps: Deps, client: AsyncWebClient, body: dict[str, Any], tour: Tour
) -> None:
    reader = body["user"]["id"]
    async with deps.sessions() as session:
        export = await tour_export.export_tour(session, tour=tour, reader_id=reader)
    if not export.answers_visible:
        why = withheld_reason(export.visibility, leader_id=tour.leader_id, reader_id=reader)
        raise refused.answers_withheld(
            respondents=export.respondents, participants=export.participants, why=why
        )
    message = render_export_message(
        title=tour.title,
        respondents=export.respondents,
        participants=export.participants,
        questions=export.questions,
        named=export.named,
        tour_id=tour.id,
        see_answers_action=FindingsAction.SEE_ANSWERS,  # paged, with "Hide an answer…"
    )
    await client.chat_postMessage(channel=body["user"]["id"], **message.to_dict())


def register(app: AsyncApp, *, command: str) -> set[str]:
    """Register the tour's listeners; returns the subcommands now served."""
    register_listener(app.command(command, matchers=[is_tour_command]), handle_tour_command)
    register_listener(app.view(TourView.LAUNCH.value), handle_tour_launch_submission)
    register_listener(
        app.action(input_action_id(LaunchBlock.RESULTS)), handle_results_channel_picked
    )
    register_listener(app.view(TourView.ANSWERS.value), handle_answer_form_submission)
    register_listener(app.event("message", matchers=[is_direct_message]), handle_dm_reply)
    for action_id in (TourAction.ANSWER_FORM, TourAction.EDIT, TourAction.ADD_MORE):
        register_listener(app.action(action_id.value), handle_answer_form_button)
    for action_id in LEADER_VERBS:
        register_listener(app.action(action_id.value), handle_leader_button)
    return {"tour"}
