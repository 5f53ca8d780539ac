"""Step 3 end to end: after the poll closes the leader asks three direct reports for outcomes,
they propose five across two themes, the leader commits two (one rewritten) and the team
channel hears about them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.findings import FindingsAction
from bot.blocks.outcomes import OutcomeAction, OutcomeView
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.models import Outcome, OutcomeProposal, Theme, ThemeSource
from bot.sandbox.block_kit import validate_message
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from tests.conftest import START
from tests.factories import committed_outcome, final_themes, stored_tour
from tests.handlers.test_findings import (
    closed_tour,
    drain_outbox,
    post_findings,
    team,  # noqa: F401 - the fixture
    vote,
)
from tests.handlers.test_tour import rendered

SHAPERS = ["UT01", "UT02", "UT03"]


def buttons(
    message: dict[str, Any], action_id: str, *, prefix: bool = False
) -> list[dict[str, Any]]:
    """The elements of a message with this action id (or, with `prefix`, starting with it)."""
    found = []
    for block in message.get("blocks") or []:
        elements = block.get("elements") or []
        if block.get("accessory"):
            elements = [*elements, block["accessory"]]
        for element in elements:
            its = str(element.get("action_id", ""))
            if its == action_id or (prefix and its.startswith(action_id)):
                found.append(element)
    return found


async def poll_closed(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    team: list[str],  # noqa: F811 - the fixture imported above
) -> dict[str, Any]:
    await closed_tour(slack, fake_slack, deps, clock, team)
    post = await post_findings(slack, fake_slack, deps)
    await vote(slack, deps, fake_slack, "UT04", 0)
    [close] = buttons(post, FindingsAction.CLOSE_POLL)
    await slack.block_action(
        "ULEAD", FindingsAction.CLOSE_POLL, value=close["value"], message=post, channel_id="CSQUAD"
    )
    await deps.inflight.wait_idle(timeout=5)
    await drain_outbox(deps, clock)
    return post


def theme_options(setup: dict[str, Any]) -> dict[str, Any]:
    """The "Set outcomes" form's theme checkboxes."""
    [block] = [b for b in setup["blocks"] if b.get("block_id") == "outcomes.themes"]
    element: dict[str, Any] = block["element"]
    return element


async def shapers_asked(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    team: list[str],  # noqa: F811
) -> None:
    """The poll closed; the leader asked UT01 to UT03 for outcomes on the top themes."""
    await poll_closed(slack, fake_slack, deps, clock, team)
    home = fake_slack.home_views["ULEAD"]
    await slack.block_action("ULEAD", OutcomeAction.SET_OUTCOMES, view=home)
    await deps.inflight.wait_idle(timeout=5)
    setup = fake_slack.views[fake_slack.view_stack("ULEAD")[-1]]
    assert setup["callback_id"] == OutcomeView.SETUP
    users = {"type": "multi_users_select", "selected_users": SHAPERS}
    # Only the voted challenge starts ticked; the leader ticks the other one too.
    options = theme_options(setup)
    assert [o["value"] for o in options["initial_options"]] == [options["options"][0]["value"]]
    both = {"type": "checkboxes", "selected_options": options["options"][:2]}
    answer = await slack.view_submission(
        "ULEAD",
        setup,
        {
            "outcomes.shapers": {"outcomes.shapers.input": users},
            "outcomes.themes": {"outcomes.themes.input": both},
        },
    )
    assert answer.status == 200
    await deps.inflight.wait_idle(timeout=5)
    await drain_outbox(deps, clock)


async def test_outcomes_are_proposed_committed_and_announced(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],  # noqa: F811
) -> None:
    await shapers_asked(slack, fake_slack, deps, clock, team)

    proposals = [("UT01", 0), ("UT01", 1), ("UT02", 0), ("UT03", 0), ("UT03", 1)]
    for author, theme_index in proposals:
        request = next(
            m for m in reversed(fake_slack.dms_to(author)) if buttons(m, OutcomeAction.PROPOSE)
        )
        assert "not anonymous" in rendered(request).lower()
        button = buttons(request, OutcomeAction.PROPOSE)[theme_index]
        await slack.block_action(
            author,
            OutcomeAction.PROPOSE,
            value=button["value"],
            message=request,
            channel_id=request["channel"],
        )
        await deps.inflight.wait_idle(timeout=5)
        form = fake_slack.views[fake_slack.view_stack(author)[-1]]
        typed = {
            "proposal.statement": {"proposal.statement.input": f"{author} idea {theme_index}"},
            "proposal.measure": {"proposal.measure.input": "Measured weekly, target 90%"},
        }
        await slack.view_submission(author, form, typed)
        await deps.inflight.wait_idle(timeout=5)
    replayed = await slack.view_submission(author, form, typed)  # the last one, sent again
    await deps.inflight.wait_idle(timeout=5)
    assert replayed.status == 200
    async with sessions() as session:
        stored = (await session.scalars(select(OutcomeProposal))).all()
    assert len(stored) == 5  # the replay added nothing
    assert len({p.theme_id for p in stored}) == 2

    await drain_outbox(deps, clock)
    home = fake_slack.home_views["ULEAD"]
    await slack.block_action("ULEAD", OutcomeAction.REVIEW, view=home)
    await deps.inflight.wait_idle(timeout=5)
    commit = fake_slack.views[fake_slack.view_stack("ULEAD")[-1]]
    assert commit["callback_id"] == OutcomeView.COMMIT
    assert "<@UT02>" in json.dumps(commit)  # proposals side by side, with who proposed
    theme_ids = sorted({p.theme_id for p in stored})
    target = (clock.now() + timedelta(days=90)).date().isoformat()
    values: dict[str, Any] = {}
    for theme_id, partner in zip(theme_ids, ["Finance", "Sales"], strict=True):
        values[f"outcome.{theme_id}.partner"] = {f"outcome.{theme_id}.partner.input": partner}
        values[f"outcome.{theme_id}.target"] = {
            f"outcome.{theme_id}.target.input": {"type": "datepicker", "selected_date": target}
        }
    rewritten = "Finance hears about slips the day we know"
    values[f"outcome.{theme_ids[0]}.statement"] = {
        f"outcome.{theme_ids[0]}.statement.input": rewritten
    }

    stale = json.loads(json.dumps(commit))
    answer = await slack.view_submission("ULEAD", commit, values)
    assert answer.status == 200
    assert answer.json is None, answer.json
    await deps.inflight.wait_idle(timeout=5)
    await drain_outbox(deps, clock)
    async with sessions() as session:
        committed = (await session.scalars(select(Outcome).order_by(Outcome.theme_id))).all()
    assert [o.partner for o in committed] == ["Finance", "Sales"]
    assert committed[0].statement == rewritten

    announcement = fake_slack.messages_in("CSQUAD")[-1]
    assert validate_message(announcement.get("text"), announcement["blocks"]) == []
    shown = rendered(announcement)
    assert rewritten in shown
    for author in SHAPERS:
        assert f"<@{author}>" in shown  # thanked by name
    offer = fake_slack.dms_to("ULEAD")[-1]
    assert buttons(offer, OutcomeAction.LETTING_GO)

    # Someone else submitting the leader's form changes nothing.
    forged = {k: v for k, v in values.items() if k.endswith(".partner")}
    forged[f"outcome.{theme_ids[0]}.partner"] = {f"outcome.{theme_ids[0]}.partner.input": "HR"}
    refused = await slack.view_submission("UT01", stale, forged)
    assert refused.json is not None
    assert refused.json["response_action"] == "update"
    async with sessions() as session:
        partners = await session.scalars(select(Outcome.partner).order_by(Outcome.theme_id))
        assert list(partners.all()) == ["Finance", "Sales"]


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
    team: list[str],  # noqa: F811
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
    team: list[str],  # noqa: F811
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
