"""Step 3 end to end: after the poll closes the leader asks three direct reports for outcomes,
they propose five across two themes, the leader commits two (one rewritten) and the team
channel hears about them."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.findings import FindingsAction
from bot.blocks.outcomes import OutcomeAction, OutcomeView
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.models import Outcome, OutcomeProposal, Theme, ThemeSource
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from tests.conftest import START
from tests.factories import committed_outcome, final_themes, stored_tour
from tests.journeys import (
    buttons,
    closed_tour,
    drain_outbox,
    outcomes_committed,
    post_findings,
    rendered,
    shapers_asked,
    theme_options,
    vote,
)


async def test_outcomes_are_proposed_committed_and_announced(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await outcomes_committed(slack, fake_slack, deps, clock, sessions, team)


async def test_the_export_carries_the_outcomes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from bot.services.tour_export import export_tour

    async with sessions.begin() as session:
        tour = await stored_tour(session, closed_at=START)
        first, second = await final_themes(session, tour, ["Slips told late", "Priorities"])
        await committed_outcome(session, tour, first, partner="Finance")
        await committed_outcome(session, tour, second, partner="Sales", statement="Sales knows")
    async with sessions() as session:
        record = (await export_tour(session, tour=tour)).record()
    assert [o["partner"] for o in record["outcomes"]] == ["Finance", "Sales"]
    assert record["outcomes"][0]["outcome"] == "Finance hears about slips the day we know"
    assert record["outcomes"][0]["theme"] == "Slips told late"
    assert record["initiatives"] == []  # step 4 comes next


@pytest.mark.usefixtures("dm_one_trip")
async def test_proposals_by_dm_reply_and_edits_until_the_leader_decides(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await shapers_asked(slack, fake_slack, deps, clock, team)
    reply = "Finance hears about every slip within a day; 9 in 10 by June"

    # Asked about two themes, a DM reply asks which one it is for; nothing is stored yet.
    await slack.dm("UT03", reply)
    await deps.inflight.wait_idle(timeout=5)
    question = fake_slack.dms_to("UT03")[-1]
    picks = buttons(question, OutcomeAction.PICK_THEME, prefix=True)
    assert len(picks) == 2
    async with sessions() as session:
        assert (await session.scalars(select(OutcomeProposal))).all() == []
    await slack.block_action(
        "UT03",
        picks[1]["action_id"],
        value=picks[1]["value"],
        message=question,
        channel_id=question["channel"],
    )
    await deps.inflight.wait_idle(timeout=5)
    async with sessions() as session:
        [stored] = (await session.scalars(select(OutcomeProposal))).all()
    assert (stored.author_id, stored.statement, stored.measure) == ("UT03", reply, "")
    # The question is replaced (through the response_url) by the saved proposal.
    saved = {
        **fake_slack.responses[-1]["body"],
        "channel": question["channel"],
        "ts": question["ts"],
    }
    assert saved["replace_original"] is True
    assert reply in rendered(saved)
    [edit] = buttons(saved, OutcomeAction.EDIT_PROPOSAL)

    # Someone else cannot edit it; its author can.
    await slack.block_action(
        "UT01",
        OutcomeAction.EDIT_PROPOSAL,
        value=edit["value"],
        channel_id=fake_slack.dm_channel_id("UT01"),
    )
    await deps.inflight.wait_idle(timeout=5)
    assert "only your own" in fake_slack.ephemerals[-1]["text"]
    await slack.block_action(
        "UT03",
        OutcomeAction.EDIT_PROPOSAL,
        value=edit["value"],
        message=saved,
        channel_id=saved["channel"],
    )
    await deps.inflight.wait_idle(timeout=5)
    form = fake_slack.views[fake_slack.view_stack("UT03")[-1]]
    assert form["title"]["text"] == "Change your proposal"
    answer = await slack.view_submission(
        "UT03",
        form,
        {
            "proposal.statement": {"proposal.statement.input": "Slips told the same day"},
            "proposal.measure": {"proposal.measure.input": "9 in 10 by June"},
        },
    )
    assert answer.json is None, answer.json
    await deps.inflight.wait_idle(timeout=5)
    async with sessions() as session:
        [stored] = (await session.scalars(select(OutcomeProposal))).all()
    assert (stored.statement, stored.measure) == ("Slips told the same day", "9 in 10 by June")
    assert "Changed your proposal" in rendered(fake_slack.dms_to("UT03")[-1])

    # Once the leader decides that theme, the proposal stays as it is.
    async with sessions.begin() as session:
        session.add(
            Outcome(
                tour_id=stored.tour_id,
                theme_id=stored.theme_id,
                statement="Decided",
                partner="Finance",
                measure="m",
                target_date=clock.now().date(),
                committed_at=clock.now(),
            )
        )
    await slack.block_action(
        "UT03",
        OutcomeAction.EDIT_PROPOSAL,
        value=edit["value"],
        message=saved,
        channel_id=saved["channel"],
    )
    await deps.inflight.wait_idle(timeout=5)
    assert "already decided" in fake_slack.ephemerals[-1]["text"]
    stale = await slack.view_submission(
        "UT03",
        form,
        {
            "proposal.statement": {"proposal.statement.input": "Too late"},
            "proposal.measure": {"proposal.measure.input": "x"},
        },
    )
    assert stale.json is not None
    assert stale.json["response_action"] == "update"
    # One theme is left undecided: a DM reply is offered for it alone, and saved on the click.
    await slack.dm("UT02", "Sales sees the roadmap before the quarter starts")
    await deps.inflight.wait_idle(timeout=5)
    offer = fake_slack.dms_to("UT02")[-1]
    [save] = buttons(offer, OutcomeAction.PICK_THEME, prefix=True)
    assert save["text"]["text"] == "Save as my proposal"
    await slack.block_action(
        "UT02", save["action_id"], value=save["value"], message=offer, channel_id=offer["channel"]
    )
    await deps.inflight.wait_idle(timeout=5)
    assert "will see your proposal" in rendered(fake_slack.responses[-1]["body"])
    async with sessions() as session:
        statements = (
            await session.scalars(select(OutcomeProposal.statement).order_by(OutcomeProposal.id))
        ).all()
    assert list(statements) == [
        "Slips told the same day",
        "Sales sees the roadmap before the quarter starts",
    ]


async def test_set_outcomes_lists_themes_by_votes_and_ticks_only_voted_challenges(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)
    post = await post_findings(slack, fake_slack, deps)
    # The first posted theme is what works well (a strength, as the engine marks the answers
    # to "What's working well?"); the second is a challenge.
    async with sessions.begin() as session:
        first, second = (
            await session.scalars(
                select(Theme).where(Theme.source == ThemeSource.FINAL).order_by(Theme.position)
            )
        ).all()
        first.kind = "strength"
    await vote(slack, deps, fake_slack, "UT04", 0)  # one vote for the strength
    for voter in ("UT05", "UT06"):  # two for the challenge
        await vote(slack, deps, fake_slack, voter, 1)
    [close] = buttons(post, FindingsAction.CLOSE_POLL)
    await slack.block_action(
        "ULEAD", FindingsAction.CLOSE_POLL, value=close["value"], message=post, channel_id="CSQUAD"
    )
    await deps.inflight.wait_idle(timeout=5)
    await drain_outbox(deps, clock)

    await slack.block_action(
        "ULEAD", OutcomeAction.SET_OUTCOMES, view=fake_slack.home_views["ULEAD"]
    )
    await deps.inflight.wait_idle(timeout=5)
    setup = fake_slack.views[fake_slack.view_stack("ULEAD")[-1]]
    assert setup["callback_id"] == OutcomeView.SETUP
    options = theme_options(setup)
    # By votes, most first, each with its votes and side.
    assert [(o["value"], o["description"]["text"]) for o in options["options"]] == [
        (str(second.id), "2 votes · Challenge"),
        (str(first.id), "1 vote · Working well"),
    ]
    # The strength with a vote is listed but not ticked: only the voted challenge is.
    assert [o["value"] for o in options["initial_options"]] == [str(second.id)]
