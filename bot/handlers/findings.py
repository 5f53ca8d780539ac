"""Step 2 in Slack: the leader reviews the suggested themes and posts them with a poll; the
team votes, shares insights, and the leader closes the poll."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.findings import (
    FindingsAction,
    FindingsBlock,
    FindingsView,
    render_answers_page,
    render_preview_modal,
    render_review_modal,
    render_vote_ack,
    theme_block,
)
from bot.blocks.tour import withheld_reason
from bot.deps import Deps
from bot.flows.poll import (
    DEFAULT_BUDGET,
    DEFAULT_MAX_PER_THEME,
    Change,
    Refusal,
    poll_settings_problems,
)
from bot.flows.tour import close_instant, local_today
from bot.handlers.common import leader_tour, may_lead, number_from_value, quick_client
from bot.handlers.context import (
    claim_click,
    deps_of,
    register_listener,
)
from bot.handlers.forms import (
    as_date,
    field,
    is_number,
    metadata_tour_id,
    state_values,
    text_field,
)
from bot.handlers.home import publish_home
from bot.models import Poll, PollStatus, Tour, TourStatus
from bot.refusals import findings as refused
from bot.services import findings
from bot.services.tour import visibility_of
from bot.services.tour_export import export_tour
from bot.store import findings as store
from bot.store.tours import get_tour, questions_of

log = logging.getLogger("bot.handlers.findings")

ANSWERS_PER_PAGE = 40


# --- the leader's review ----------------------------------------------------------------------


async def _steerable_tour(
    deps: Deps,
    session: AsyncSession,
    view: dict[str, Any],
    context: AsyncBoltContext,
    body: dict[str, Any],
    title: str,
) -> Tour:
    """The tour a review or preview submission is about, locked, if the person may still
    change its findings; otherwise a refusal, shown in place of the modal."""
    tour_id = metadata_tour_id(view)
    tour = (
        await get_tour(session, tour_id=tour_id, team_id=context.team_id or "", lock=True)
        if tour_id is not None
        else None
    )
    refusal = await _steering_refusal(deps, session, tour, body["user"]["id"])
    if refusal:
        raise refused.steering_refused(refusal, title=title)
    assert tour is not None
    return tour


async def _steering_refusal(
    deps: Deps, session: AsyncSession, tour: Tour | None, user_id: str
) -> str | None:
    """Why this person may not change this tour's findings now, or None if they may: the
    leader or a workspace admin, before the findings are posted (votes hang on the themes),
    and only if enough people other than them answered to show the themes' quotes."""
    if tour is None:
        return "This review is out of date; open it again."
    if not await may_lead(deps, await quick_client(deps, tour.team_id), tour, user_id, session):
        return f"Only <@{tour.leader_id}>, who leads this tour, or a workspace admin can."
    poll = await store.poll_of_tour(session, tour_id=tour.id)
    if poll is not None and poll.message_ts:
        return f"The findings are already posted in <#{poll.channel_id}>; votes are coming in."
    # The themes come from people's words: the same minimum as the review button (their quotes
    # have a higher one of their own, applied where quotes are read).
    visibility = await visibility_of(session, tour=tour, reader_id=user_id)
    if not visibility.show_themes:
        return withheld_reason(visibility, leader_id=tour.leader_id, reader_id=user_id)
    return None


async def _review_blocker(deps: Deps, tour: Tour, reader_id: str) -> str | None:
    if tour.status is not TourStatus.CLOSED:
        return "Themes come once the tour has closed. Close it from your App Home when ready."
    async with deps.sessions() as session:
        poll = await store.poll_of_tour(session, tour_id=tour.id)
        visibility = await visibility_of(session, tour=tour, reader_id=reader_id)
    if poll is not None and poll.message_ts:
        return f"The findings are posted in <#{poll.channel_id}>; the team is voting there."
    if not visibility.show_themes:
        why = withheld_reason(visibility, leader_id=tour.leader_id, reader_id=reader_id)
        return f"{why} So there is nothing to group into themes."
    return None


async def handle_review_button(
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
        verb="review",
    )
    blocker = await _review_blocker(deps, tour, body["user"]["id"])
    if blocker:
        raise refused.review_blocked(blocker)
    async with deps.sessions() as session:
        review = await findings.review_of(session, tour=tour)
        respondents = (await export_tour(session, tour=tour)).respondents
    view = render_review_modal(
        tour_id=tour.id,
        title=tour.title,
        respondents=respondents,
        themes=review.drafts,
        reflections=review.reflections,
        unthemed=review.unthemed,
        remote_llm=deps.settings.llm_remote_host,
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


def read_review(view: dict[str, Any], based_on: list[int]) -> list[findings.ReviewedTheme]:
    values = state_values(view)
    reviewed = []
    for index, theme_id in enumerate(based_on, start=1):
        order = field(values, f"theme.{index}.order")
        reviewed.append(
            findings.ReviewedTheme(
                label=text_field(values, f"theme.{index}.label"),
                summary=text_field(values, f"theme.{index}.summary"),
                order=int(order) if isinstance(order, str) and is_number(order) else index,
                kept="keep" in (field(values, f"theme.{index}.keep") or []),
                based_on=theme_id,
            )
        )
    own = text_field(values, FindingsBlock.NEW_LABEL)
    if own.strip():
        order = field(values, FindingsBlock.NEW_ORDER)
        reviewed.append(
            findings.ReviewedTheme(
                label=own,
                summary=text_field(values, FindingsBlock.NEW_SUMMARY),
                order=int(order)
                if isinstance(order, str) and is_number(order)
                else len(based_on) + 1,
                kept=True,
                based_on=None,
            )
        )
    return reviewed


async def handle_review_submission(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    async with deps.sessions.begin() as session:
        tour = await _steerable_tour(deps, session, view, context, body, "Review themes")
        review = await findings.review_of(session, tour=tour)
        reviewed = read_review(view, [theme.id for theme in review.themes])
        problem = findings.review_problems(reviewed)
        if problem:
            # Shown next to the first theme, or next to "your own theme" when there are none.
            where = theme_block(1, "keep") if review.themes else FindingsBlock.NEW_LABEL
            await ack(response_action="errors", errors={where: problem})
            return
        values = state_values(view)
        await findings.save_review(
            session,
            tour=tour,
            reviewed=reviewed,
            reflections=[
                text_field(values, block)
                for block in (
                    FindingsBlock.REFLECT_INSIGHTS,
                    FindingsBlock.REFLECT_NEXT,
                    FindingsBlock.REFLECT_INVOLVE,
                )
            ],
        )
        drafts = await findings.final_drafts(session, tour=tour)
        covered = await findings.coverage(session, tour_id=tour.id)
        export = await export_tour(session, tour=tour)
        questions = [q.text for q in await questions_of(session, tour_id=tour.id)]
    preview = render_preview_modal(
        tour_id=tour.id,
        title=tour.title,
        questions=questions,
        respondents=export.respondents,
        participants=export.participants,
        themes=drafts,
        budget=DEFAULT_BUDGET,
        max_per_theme=DEFAULT_MAX_PER_THEME,
        hide_results=False,
        allow_outsiders=False,
        unthemed=covered.unthemed,
        answers=covered.answers,
    )
    # Pushed, so the preview's Back returns to the review rather than closing everything.
    await ack(response_action="push", view=preview.to_dict())


async def handle_answers_page(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    """See all answers, a page at a time, as the export shows them (anonymity rules apply)."""
    await ack()
    deps = deps_of(context)
    tour_part, _, page_part = str(action.get("value") or "").partition(":")
    page = int(page_part) if is_number(page_part) else 0
    tour = await leader_tour(
        deps,
        client,
        body,
        tour_id=int(tour_part) if is_number(tour_part) else None,
        team_id=context.team_id or "",
        verb="read the answers of",
    )
    async with deps.sessions() as session:
        export = await export_tour(session, tour=tour, reader_id=body["user"]["id"])
    rows = [(q, text) for q, answers in export.questions for text in answers]
    pages = max(1, -(-len(rows) // ANSWERS_PER_PAGE))
    page = min(page, pages - 1)
    chunk = rows[page * ANSWERS_PER_PAGE : (page + 1) * ANSWERS_PER_PAGE]
    grouped: dict[str, list[str]] = {}
    for question, text in chunk:
        grouped.setdefault(question, []).append(text)
    view = render_answers_page(
        tour_id=tour.id,
        title=tour.title,
        page=page,
        page_count=pages,
        questions=list(grouped.items()),
        hideable=True,
    ).to_dict()
    if action.get("action_id") == FindingsAction.ANSWERS_PAGE and body.get("view"):
        await client.views_update(view_id=body["view"]["id"], view=view)
    else:
        await client.views_push(trigger_id=body["trigger_id"], view=view)


# --- posting the findings and the poll --------------------------------------------------------


def _number(values: dict[str, dict[str, Any]], block_id: str) -> int | None:
    typed = text_field(values, block_id).strip()
    return int(typed) if is_number(typed) else None


async def handle_post_findings(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    deps = deps_of(context)
    values = state_values(view)
    budget = _number(values, FindingsBlock.POLL_BUDGET)
    cap = _number(values, FindingsBlock.POLL_MAX_PER_THEME)
    problems = poll_settings_problems(budget, cap)
    if problems:
        blocks = {
            "budget": FindingsBlock.POLL_BUDGET,
            "max_per_theme": FindingsBlock.POLL_MAX_PER_THEME,
        }
        await ack(
            response_action="errors",
            errors={blocks[name]: message for name, message in problems.items()},
        )
        return
    assert budget is not None
    assert cap is not None
    team_id = context.team_id or ""
    options = field(values, FindingsBlock.POLL_OPTIONS) or []
    picked = field(values, FindingsBlock.POLL_CLOSES_ON)
    closes_on = as_date(picked)
    async with deps.sessions.begin() as session:
        tour = await _steerable_tour(deps, session, view, context, body, "Post findings")
        if closes_on is not None and closes_on < local_today(deps.clock.now(), tour.leader_tz):
            await ack(
                response_action="errors",
                errors={
                    FindingsBlock.POLL_CLOSES_ON: "That day has passed; pick today or a later day."
                },
            )
            return
        poll = await findings.open_poll(
            session,
            tour=tour,
            budget=budget,
            max_per_theme=cap,
            hide_results="hide" in options,
            allow_outsiders="outsiders" in options,
            closes_at=close_instant(closes_on, tour.leader_tz) if closes_on else None,
            now=deps.clock.now(),
        )
    await ack(response_action="clear")  # close the preview and the review under it
    await post_or_refresh(deps, client, poll.id, team_id)
    await publish_home(deps, client, team_id=team_id, user_id=tour.leader_id)


async def post_or_refresh(deps: Deps, client: AsyncWebClient, poll_id: int, team_id: str) -> None:
    """Draw the poll message from the database: post it the first time, update it after."""
    async with deps.sessions() as session:
        poll = await store.get_poll(session, poll_id=poll_id, team_id=team_id)
        assert poll is not None
        state = await findings.poll_state(session, poll=poll)
    message = findings.poll_message(state)
    if poll.message_ts:
        await client.chat_update(channel=poll.channel_id, ts=poll.message_ts, **message.to_dict())
        return
    posted = await client.chat_postMessage(channel=poll.channel_id, **message.to_dict())
    async with deps.sessions.begin() as session:
        locked = await store.get_poll(session, poll_id=poll_id, team_id=team_id, lock=True)
        assert locked is not None
        locked.message_ts = str(posted["ts"])


def _poll_and_theme(action: dict[str, Any]) -> tuple[int, int] | None:
    poll_part, _, theme_part = str(action.get("value") or "").partition(":")
    if is_number(poll_part) and is_number(theme_part):
        return int(poll_part), int(theme_part)
    return None


async def handle_vote(
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
    voter_id = body["user"]["id"]
    target = _poll_and_theme(action)
    if target is None:
        raise refused.button_without_poll()
    poll_id, theme_id = target
    async with deps.sessions() as session:
        poll = await store.get_poll(session, poll_id=poll_id, team_id=team_id)
    if poll is None or poll.status is PollStatus.CLOSED:
        text = render_vote_ack(votes_left=0, placed=[], refused=Refusal.CLOSED)
    elif not poll.allow_outsiders and not await _in_channel(deps, client, poll, voter_id):
        text = render_vote_ack(votes_left=0, placed=[], refused=Refusal.NOT_IN_CHANNEL)
    else:
        change = Change.ADD if action["action_id"] == FindingsAction.VOTE else Change.REMOVE
        async with deps.sessions.begin() as session:
            # Scoped to the poll: its close deletes these claims, which name the voter.
            if not await claim_click(session, context, body, action, scope=f"poll:{poll_id}"):
                return  # a replay of a click already counted (and answered)
            locked = await store.get_poll(session, poll_id=poll_id, team_id=team_id, lock=True)
            assert locked is not None
            voted = await findings.cast_vote(
                session, poll=locked, voter_id=voter_id, theme_id=theme_id, change=change
            )
        text = render_vote_ack(
            votes_left=voted.result.left,
            placed=voted.placed,
            refused=voted.result.refused.value if voted.result.refused else None,
            theme=voted.label,
            change=change,
        )
        if voted.result.refused is None:
            deps.coalescer.request(
                f"poll:{poll_id}", lambda: post_or_refresh(deps, client, poll_id, team_id)
            )
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def _in_channel(deps: Deps, client: AsyncWebClient, poll: Poll, user_id: str) -> bool:
    return await deps.directory.is_member(
        client,
        team_id=poll.team_id,
        channel_id=poll.channel_id,
        user_id=user_id,
        now=deps.clock.now(),
    )


def register(app: AsyncApp) -> None:
    register_listener(app.action(FindingsAction.REVIEW.value), handle_review_button)
    register_listener(app.view(FindingsView.REVIEW.value), handle_review_submission)
    for action_id in (FindingsAction.SEE_ANSWERS, FindingsAction.ANSWERS_PAGE):
        register_listener(app.action(action_id.value), handle_answers_page)
    register_listener(app.view(FindingsView.PREVIEW.value), handle_post_findings)
    for action_id in (FindingsAction.VOTE, FindingsAction.UNVOTE):
        register_listener(app.action(action_id.value), handle_vote)
