"""Step 3 in Slack: the leader asks direct reports for partner-focused outcomes, they propose
(not anonymously), and the leader commits one outcome per theme and announces them."""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.metadata import PickedTheme, ProposalMetadata
from bot.blocks.outcomes import (
    OutcomeAction,
    OutcomeBlock,
    OutcomeView,
    ProposalView,
    ThemeChoice,
    ThemeProposals,
    render_commit_modal,
    render_letting_go_modal,
    render_proposal_closed,
    render_proposal_modal,
    render_proposal_saved,
    render_setup_modal,
)
from bot.deps import Deps
from bot.flows.outcomes import OutcomeDraft, outcome_theme_choices
from bot.flows.review import MAX_FINAL_THEMES
from bot.flows.tour import local_today
from bot.handlers.common import leader_tour, may_lead, number_from_value, quick_client
from bot.handlers.context import (
    Replayed,
    claim_click,
    claim_view,
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
from bot.models import Outcome, OutcomeProposal, Reflection, ThemeSource, Tour
from bot.refusals import outcomes as outcome_refusals
from bot.services import outcomes
from bot.services.working_hours import time_off
from bot.store import findings as findings_store
from bot.store.tours import get_tour

log = logging.getLogger("bot.handlers.outcomes")


async def handle_set_outcomes(
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
        verb="set outcomes for",
    )
    async with deps.sessions() as session:
        themes = await findings_store.themes_of(session, tour_id=tour.id, source=ThemeSource.FINAL)
        poll = await findings_store.poll_of_tour(session, tour_id=tour.id)
        totals = (await findings_store.poll_totals(session, poll_id=poll.id))[0] if poll else {}
    if not themes:
        raise outcome_refusals.findings_not_posted()
    ranked, ticked = outcome_theme_choices([(t.id, t.kind) for t in themes], totals)
    by_id = {theme.id: theme for theme in themes}
    view = render_setup_modal(
        tour_id=tour.id,
        title=tour.title,
        themes=[
            ThemeChoice(
                theme_id=theme_id,
                label=by_id[theme_id].label,
                votes=votes,
                kind=by_id[theme_id].kind,
            )
            for theme_id, votes in ranked
        ],
        preselected=ticked,
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


async def _leaders_tour(
    deps: Deps, view: dict[str, Any], context: AsyncBoltContext, user_id: str
) -> Tour:
    """The tour a leader's modal is about, if the submitter leads it; else a refusal, shown in
    place of the modal."""
    tour_id = metadata_tour_id(view)
    async with deps.sessions() as session:
        tour = (
            await get_tour(session, tour_id=tour_id, team_id=context.team_id or "")
            if tour_id is not None
            else None
        )
    if tour is None or not await may_lead(
        deps, await quick_client(deps, tour.team_id), tour, user_id
    ):
        raise outcome_refusals.not_the_leader()
    return tour


async def handle_setup_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    deps = deps_of(context)
    tour = await _leaders_tour(deps, view, context, body["user"]["id"])
    values = state_values(view)
    shapers = [str(user) for user in field(values, OutcomeBlock.SHAPERS) or []]
    themes = [int(t) for t in field(values, OutcomeBlock.THEMES) or [] if is_number(str(t))]
    if not shapers or not themes:
        await ack(
            response_action="errors",
            errors={
                OutcomeBlock.SHAPERS if not shapers else OutcomeBlock.THEMES: (
                    "Pick at least one person." if not shapers else "Pick at least one theme."
                )
            },
        )
        return
    # Who is away, by Slack status, before the ack (quick, bounded): their request waits.
    away_now = await time_off(deps, [(tour.team_id, user) for user in shapers], quick=True)
    try:
        async with deps.sessions.begin() as session:
            if not await claim_view(session, context, view):
                await ack()
                return
            # Refused (themes that are not this tour's): the claim is rolled back with it, so
            # the corrected form is not taken for a replay.
            asked = await outcomes.ask_shapers(
                session,
                tour=tour,
                user_ids=shapers,
                theme_ids=themes,
                now=deps.clock.now(),
                time_off=away_now,
            )
    except outcomes.OutcomeError as refused:
        raise outcome_refusals.themes_refused(str(refused), field=OutcomeBlock.THEMES) from None
    await ack()
    deps.delivery.notify()
    log.info(
        "outcome requests sent", extra={"tour": tour.id, "asked": asked, "away": len(away_now)}
    )
    await publish_home(deps, client, team_id=tour.team_id, user_id=tour.leader_id)


async def handle_propose_button(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    await ack()
    deps = deps_of(context)
    tour_part, _, theme_part = str(action.get("value") or "").partition(":")
    if not (is_number(tour_part) and is_number(theme_part)):
        raise outcome_refusals.button_without_theme()
    async with deps.sessions() as session:
        tour = await get_tour(session, tour_id=int(tour_part), team_id=context.team_id or "")
        themes = (
            await findings_store.themes_of(session, tour_id=tour.id, source=ThemeSource.FINAL)
            if tour
            else []
        )
        asked = await outcomes.shaper_ids(session, tour_id=tour.id) if tour else []
    theme = next((t for t in themes if t.id == int(theme_part)), None)
    if tour is None or theme is None or body["user"]["id"] not in asked:
        raise outcome_refusals.not_asked_to_propose()
    view = render_proposal_modal(tour_id=tour.id, theme_id=theme.id, theme_label=theme.label)
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


async def handle_proposal_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    deps = deps_of(context)
    user_id = body["user"]["id"]
    metadata = ProposalMetadata.read(view)
    if metadata is None:
        raise outcome_refusals.form_out_of_date()
    values = state_values(view)
    draft = OutcomeDraft(
        statement=text_field(values, OutcomeBlock.PROPOSAL_STATEMENT),
        partner="",
        measure=text_field(values, OutcomeBlock.PROPOSAL_MEASURE),
        target_date=None,
    )
    try:
        async with deps.sessions.begin() as session:
            tour = await get_tour(session, tour_id=metadata.tour_id, team_id=context.team_id or "")
            if tour is None or user_id not in await outcomes.shaper_ids(session, tour_id=tour.id):
                raise outcome_refusals.not_asked()
            try:
                if metadata.proposal_id is None:
                    proposal = await outcomes.propose_outcome(
                        session,
                        tour=tour,
                        theme_id=metadata.theme_id,
                        author_id=user_id,
                        draft=draft,
                        now=deps.clock.now(),
                    )
                else:
                    proposal = await outcomes.edit_proposal(
                        session,
                        tour=tour,
                        proposal_id=metadata.proposal_id,
                        author_id=user_id,
                        draft=draft,
                        now=deps.clock.now(),
                    )
            except outcomes.OutcomeError as refused:
                blocks: dict[str, str] = {
                    "statement": OutcomeBlock.PROPOSAL_STATEMENT,
                    "measure": OutcomeBlock.PROPOSAL_MEASURE,
                }
                errors = {blocks[k]: v for k, v in refused.problems.items() if k in blocks}
                if not errors:  # decided meanwhile, or not theirs: nothing to fix in the form
                    raise outcome_refusals.refused(str(refused)) from None
                await ack(response_action="errors", errors=errors)
                return
            # A new proposal is claimed with the submission: a replay must not add a second.
            if metadata.proposal_id is None and not await claim_view(session, context, view):
                raise Replayed
            label = await _theme_label(session, tour_id=tour.id, theme_id=proposal.theme_id)
            saved = render_proposal_saved(
                theme_label=label,
                leader_id=tour.leader_id,
                proposal_id=proposal.id,
                statement=proposal.statement,
                edited=metadata.proposal_id is not None,
            )
    except Replayed:
        await ack()
        return
    await ack()
    await client.chat_postMessage(channel=user_id, **saved.to_dict())


async def _theme_label(session: AsyncSession, *, tour_id: int, theme_id: int) -> str:
    themes = await findings_store.themes_of(session, tour_id=tour_id, source=ThemeSource.FINAL)
    return next((theme.label for theme in themes if theme.id == theme_id), "")


async def handle_edit_proposal(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    """Edit under a saved proposal: the form again, filled in, until the leader decides."""
    await ack()
    deps = deps_of(context)
    proposal_id = number_from_value(action)
    refusal = None
    async with deps.sessions() as session:
        proposal = await session.get(OutcomeProposal, proposal_id) if proposal_id else None
        tour = (
            await get_tour(session, tour_id=proposal.tour_id, team_id=context.team_id or "")
            if proposal
            else None
        )
        if proposal is None or tour is None or proposal.author_id != body["user"]["id"]:
            refusal = outcome_refusals.not_your_proposal()
        else:
            label = await _theme_label(session, tour_id=tour.id, theme_id=proposal.theme_id)
            if await outcomes.decided(session, theme_id=proposal.theme_id):
                refusal = outcome_refusals.refused(
                    render_proposal_closed(theme_label=label, leader_id=tour.leader_id)
                )
    # Told after the session ends: a Slack call must not hold the database meanwhile.
    if refusal is not None:
        raise refusal
    assert proposal is not None
    assert tour is not None
    view = render_proposal_modal(
        tour_id=tour.id,
        theme_id=proposal.theme_id,
        theme_label=label,
        proposal_id=proposal.id,
        statement=proposal.statement,
        measure=proposal.measure,
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


async def handle_pick_theme(
    ack: AsyncAck,
    action: dict[str, Any],
    body: dict[str, Any],
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    """A DM reply's theme chosen: save it as a proposal and turn the question into the saved
    proposal (with its Edit button)."""
    await ack()
    deps = deps_of(context)
    user_id = body["user"]["id"]
    try:
        picked = PickedTheme.model_validate_json(str(action.get("value") or ""))
    except ValidationError:
        raise outcome_refusals.button_without_theme() from None
    async with deps.sessions.begin() as session:
        if not await claim_click(session, context, body, action):
            return
        tour = await get_tour(session, tour_id=picked.tour, team_id=context.team_id or "")
        if tour is None or user_id not in await outcomes.shaper_ids(session, tour_id=tour.id):
            raise outcome_refusals.not_asked_to_propose_outcomes()
        try:
            proposal = await outcomes.propose_outcome(
                session,
                tour=tour,
                theme_id=picked.theme,
                author_id=user_id,
                draft=OutcomeDraft(statement=picked.text, partner="", measure="", target_date=None),
                now=deps.clock.now(),
                require_measure=False,
            )
        except outcomes.OutcomeError as refused:
            raise outcome_refusals.proposal_refused(str(refused)) from None
        message = render_proposal_saved(
            theme_label=await _theme_label(session, tour_id=tour.id, theme_id=proposal.theme_id),
            leader_id=tour.leader_id,
            proposal_id=proposal.id,
            statement=proposal.statement,
        )
    await respond(replace_original=True, **message.to_dict())


async def handle_review_proposals(
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
        verb="commit outcomes for",
    )
    async with deps.sessions() as session:
        themes = await findings_store.themes_of(session, tour_id=tour.id, source=ThemeSource.FINAL)
        proposals = await outcomes.proposals_by_theme(session, tour=tour)
        asked = await outcomes.asked_theme_ids(session, tour_id=tour.id)
        committed = {
            outcome.theme_id: outcome
            for outcome in await session.scalars(select(Outcome).where(Outcome.tour_id == tour.id))
        }
    view = render_commit_modal(
        tour_id=tour.id,
        title=tour.title,
        themes=[
            ThemeProposals(
                theme_id=theme.id,
                label=theme.label,
                proposals=[
                    ProposalView(author_id=p.author_id, statement=p.statement, measure=p.measure)
                    for p in proposals.get(theme.id, [])
                ],
                statement=committed[theme.id].statement if theme.id in committed else None,
                partner=committed[theme.id].partner if theme.id in committed else None,
                measure=committed[theme.id].measure if theme.id in committed else None,
                target_date=committed[theme.id].target_date if theme.id in committed else None,
            )
            for theme in [t for t in themes if asked is None or t.id in asked][:MAX_FINAL_THEMES]
        ],
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


def read_commitments(view: dict[str, Any], theme_ids: list[int]) -> dict[int, OutcomeDraft]:
    """The outcomes the leader filled in; a theme whose boxes are all empty is skipped."""
    values = state_values(view)
    drafts: dict[int, OutcomeDraft] = {}
    for theme_id in theme_ids:
        prefix = f"outcome.{theme_id}"
        statement = text_field(values, f"{prefix}.statement")
        partner = text_field(values, f"{prefix}.partner")
        measure = text_field(values, f"{prefix}.measure")
        picked = field(values, f"{prefix}.target")
        if not (statement.strip() or partner.strip() or measure.strip() or picked):
            continue
        drafts[theme_id] = OutcomeDraft(
            statement=statement,
            partner=partner,
            measure=measure,
            target_date=as_date(picked),
        )
    return drafts


async def handle_commit_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
) -> None:
    deps = deps_of(context)
    tour = await _leaders_tour(deps, view, context, body["user"]["id"])
    now = deps.clock.now()
    try:
        async with deps.sessions.begin() as session:
            themes = await findings_store.themes_of(
                session, tour_id=tour.id, source=ThemeSource.FINAL
            )
            drafts = read_commitments(view, [theme.id for theme in themes])
            try:
                await outcomes.commit_outcomes(
                    session,
                    tour=tour,
                    drafts=drafts,
                    today=local_today(now, tour.leader_tz),
                    now=now,
                )
            except outcomes.OutcomeError as refused:
                first = themes[0].id if themes else 0
                errors = {
                    (f"outcome.{key}" if key != "any" else f"outcome.{first}.statement").replace(
                        ".target_date", ".target"
                    ): problem
                    for key, problem in refused.problems.items()
                }
                await ack(response_action="errors", errors=errors)
                return
            if not await claim_view(session, context, view):
                raise Replayed  # a replay: roll back, so nothing is announced twice
    except Replayed:
        await ack()
        return
    await ack()
    deps.delivery.notify()
    await publish_home(deps, client, team_id=tour.team_id, user_id=tour.leader_id)


async def handle_letting_go_button(
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
        verb="reflect on",
    )
    async with deps.sessions() as session:
        reflection = await session.get(Reflection, tour.id)
    answers = (
        [reflection.outcomes_matter, reflection.ways, reflection.possible]
        if reflection
        else [None, None, None]
    )
    view = render_letting_go_modal(tour_id=tour.id, answers=answers)
    await client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


async def handle_letting_go_submission(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    tour = await _leaders_tour(deps, view, context, body["user"]["id"])
    values = state_values(view)
    async with deps.sessions.begin() as session:
        await outcomes.save_letting_go(
            session,
            tour=tour,
            answers=[
                text_field(values, b)
                for b in (
                    OutcomeBlock.LETGO_MATTER,
                    OutcomeBlock.LETGO_WAYS,
                    OutcomeBlock.LETGO_POSSIBLE,
                )
            ],
        )
    await ack()


def register(app: AsyncApp) -> None:
    register_listener(app.action(OutcomeAction.SET_OUTCOMES.value), handle_set_outcomes)
    register_listener(app.view(OutcomeView.SETUP.value), handle_setup_submission)
    register_listener(app.action(OutcomeAction.PROPOSE.value), handle_propose_button)
    register_listener(app.view(OutcomeView.PROPOSE.value), handle_proposal_submission)
    register_listener(app.action(OutcomeAction.REVIEW.value), handle_review_proposals)
    register_listener(app.view(OutcomeView.COMMIT.value), handle_commit_submission)
    register_listener(app.action(OutcomeAction.LETTING_GO.value), handle_letting_go_button)
    register_listener(app.action(OutcomeAction.EDIT_PROPOSAL.value), handle_edit_proposal)
    register_listener(
        app.action(re.compile(rf"^{re.escape(OutcomeAction.PICK_THEME)}\.\d+$")), handle_pick_theme
    )
    register_listener(app.view(OutcomeView.LETTING_GO.value), handle_letting_go_submission)
