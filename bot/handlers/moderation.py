"""Moderation in Slack: "Hide an answer…" under the leader's page of answers, its modal, and the
submission that hides the answer and (when anyone can) tells its author."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.moderation import (
    ModerationAction,
    ModerationBlock,
    ModerationView,
    render_hidden_done,
    render_hide_modal,
)
from bot.blocks.tour import withheld_reason
from bot.flows.moderation import author_reach, may_rewrite, reason_problem
from bot.handlers.common import leader_tour, may_lead, quick_client
from bot.handlers.context import deps_of, register_listener
from bot.handlers.findings import ANSWERS_PER_PAGE
from bot.handlers.forms import field, is_number, metadata_tour_id, state_values, text_field
from bot.models import TourStatus
from bot.refusals import moderation as refused
from bot.services import moderation
from bot.services.tour import visibility_of
from bot.store.tours import get_tour

log = logging.getLogger("bot.handlers.moderation")


async def handle_open_hide_modal(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    """ "Hide an answer…" offers the answers of the page it was pressed under, to pick one from."""
    await ack()
    deps = deps_of(context)
    tour_part, _, page_part = str(action.get("value") or "").partition(":")
    page = int(page_part) if is_number(page_part) else 0
    reader = body["user"]["id"]
    tour = await leader_tour(
        deps,
        client,
        body,
        tour_id=int(tour_part) if is_number(tour_part) else None,
        team_id=context.team_id or "",
        verb="hide answers of",
    )
    async with deps.sessions() as session:
        answers = await moderation.hideable_answers(
            session, tour=tour, reader_id=reader, page=page, per_page=ANSWERS_PER_PAGE
        )
        visibility = await visibility_of(session, tour=tour, reader_id=reader)
    if answers is None:
        raise refused.answers_withheld(
            withheld_reason(visibility, leader_id=tour.leader_id, reader_id=reader)
        )
    if not answers:
        raise refused.no_answers_on_page()
    view = render_hide_modal(
        tour_id=tour.id,
        title=tour.title,
        answers=answers,
        reach=author_reach(anonymous=tour.anonymous),
        can_rewrite=may_rewrite(anonymous=tour.anonymous, is_open=tour.status is TourStatus.OPEN),
    )
    await client.views_push(trigger_id=body["trigger_id"], view=view.to_dict())


async def handle_hide_submission(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Hide the picked answer. Refused, next to the answer picked, to anyone but the tour's
    leaders and admins."""
    deps = deps_of(context)
    values = state_values(view)
    reason = text_field(values, ModerationBlock.REASON)
    answer_id = field(values, ModerationBlock.ANSWER)
    problem = reason_problem(reason)
    if problem:
        await ack(response_action="errors", errors={ModerationBlock.REASON: problem})
        return
    tour_id = metadata_tour_id(view)
    reader = body["user"]["id"]
    team_id = context.team_id or ""
    tour = None
    if tour_id is not None:
        async with deps.sessions() as session:
            tour = await get_tour(session, tour_id=tour_id, team_id=team_id)
    if tour is None or not await may_lead(
        deps, await quick_client(deps, tour.team_id), tour, reader
    ):
        raise refused.not_a_leader(field=ModerationBlock.ANSWER)
    async with deps.sessions.begin() as session:
        locked = await get_tour(session, tour_id=tour.id, team_id=team_id, lock=True)
        assert locked is not None
        hidden = await moderation.hide_answer(
            session,
            tour=locked,
            reader_id=reader,
            answer_id=str(answer_id or ""),
            reason=reason,
            now=deps.clock.now(),
        )
    if not hidden.found:
        raise refused.answer_gone(field=ModerationBlock.ANSWER)
    done = render_hidden_done(
        reach=hidden.reach,
        told=hidden.told,
        can_rewrite=hidden.can_rewrite,
        already=hidden.already,
    )
    await ack(response_action="update", view=done.to_dict())
    deps.delivery.notify()


def register(app: AsyncApp) -> None:
    register_listener(app.action(ModerationAction.OPEN.value), handle_open_hide_modal)
    register_listener(app.view(ModerationView.HIDE.value), handle_hide_submission)
