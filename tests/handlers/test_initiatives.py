"""Step 4 end to end, continuing the tour whose outcomes were just committed: teammates propose
four initiatives and back them six times, the leader commits three (a fourth is refused at the
cap), one owner declines, the leader reassigns, owners log wins, and the export shows each
initiative's chain back to its theme."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.initiatives import InitiativeAction, InitiativeView
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.flows.outcomes import InitiativeStatus
from bot.models import Initiative, InitiativeBacking, QuickWin
from bot.sandbox.block_kit import validate_message, validate_view
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.services import initiatives as initiatives_service
from tests.journeys import (
    button_value,
    buttons,
    card_for,
    click,
    commit_values,
    drain_outbox,
    initiative_proposed,
    offer_to,
    open_commit,
    outcome_ids,
    outcomes_committed,
    propose,
    rendered,
    top_view,
)

Json = dict[str, Any]

PROPOSALS = [
    # (proposer, how, outcome index, title, suggested owner)
    ("UT04", "button", 0, "Slip alerts within a day", "UT05"),
    ("UT06", "command", 0, "Monthly finance office hours", None),
    ("UT07", "button", 1, "Shared sales roadmap page", "UT07"),
    ("UT08", "button", 1, "Demo day every sprint", None),
]
# Six backings, never by the proposer; UT10 also backs and takes it back (not counted).
BACKINGS = [("UT01", 0), ("UT02", 0), ("UT03", 0), ("UT01", 2), ("UT09", 2), ("UT11", 3)]


def last_ephemeral(fake: FakeSlack, user_id: str) -> str:
    return str([e for e in fake.ephemerals if e["user"] == user_id][-1]["text"])


def last_response(fake: FakeSlack) -> str:
    return str(fake.responses[-1]["body"].get("text"))


async def test_initiatives_are_proposed_backed_committed_and_reassigned(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await outcomes_committed(slack, fake_slack, deps, clock, sessions, team)
    outcomes = await outcome_ids(sessions)

    # Someone outside the team has nothing to propose for.
    await slack.slash_command("UOUTSIDER", "initiative", channel_id="CGENERAL")
    await deps.inflight.wait_idle(timeout=5)
    assert "couldn't find agreed outcomes" in last_response(fake_slack)

    # A proposal that says nothing about what changes is sent back, not stored.
    refused = await propose(
        slack,
        fake_slack,
        deps,
        proposer="UT04",
        how="button",
        outcome_id=outcomes[0],
        title="Vague",
        owner=None,
        implications="   ",
    )
    assert refused.json["response_action"] == "errors"
    assert "initiative.implications" in refused.json["errors"]
    fake_slack.close_view("UT04", top_view(fake_slack, "UT04")["id"])

    for proposer, how, index, title, owner in PROPOSALS:
        answer = await propose(
            slack,
            fake_slack,
            deps,
            proposer=proposer,
            how=how,
            outcome_id=outcomes[index],
            title=title,
            owner=owner,
        )
        assert answer.status == 200
        assert answer.json is None, answer.json
    await drain_outbox(deps, clock)
    cards = {title: card_for(fake_slack, title) for _, _, _, title, _ in PROPOSALS}
    for card in cards.values():
        assert validate_message(card.get("text"), card["blocks"]) == []
        assert buttons(card, InitiativeAction.BACK)
    assert "<@UT05>" in rendered(cards["Slip alerts within a day"])  # the suggested owner

    # Backing: once per person, toggled by a second click, never one's own.
    titles = [title for _, _, _, title, _ in PROPOSALS]
    for backer, index in [*BACKINGS, ("UT10", 1), ("UT10", 1)]:
        await click(slack, deps, backer, InitiativeAction.BACK, cards[titles[index]])
    await click(slack, deps, "UT04", InitiativeAction.BACK, cards[titles[0]])
    assert "backing is for your teammates" in last_response(fake_slack)
    await deps.coalescer.flush()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InitiativeBacking)) == 6
    assert "Back it (3)" in str(card_for(fake_slack, titles[0])["blocks"])

    # A teammate cannot commit; the leader commits three, the fourth meets the cap.
    await click(slack, deps, "UT01", InitiativeAction.COMMIT, cards[titles[0]])
    assert "Only <@ULEAD>" in last_ephemeral(fake_slack, "UT01")
    due = (clock.now() + timedelta(days=60)).date().isoformat()
    first = await open_commit(slack, fake_slack, deps, titles[0])
    assert validate_view(first) == []
    stale = json.loads(json.dumps(first))
    answer = await slack.view_submission(
        "ULEAD", first, commit_values("UT05", due, title="Slip alerts the same day")
    )
    assert answer.json is None, answer.json
    await deps.inflight.wait_idle(timeout=5)
    forged = await slack.view_submission("UT01", stale, commit_values("UT01", due))
    assert forged.json["response_action"] == "update"  # refused, and nothing changed
    async with sessions() as session:
        owner = await session.scalar(
            select(Initiative.owner_id).where(Initiative.title == "Slip alerts the same day")
        )
    assert owner == "UT05"
    second = await open_commit(slack, fake_slack, deps, titles[2])
    await slack.view_submission("ULEAD", second, commit_values("UT07", due, weeks=2))
    await deps.inflight.wait_idle(timeout=5)
    fourth = await open_commit(slack, fake_slack, deps, titles[3])  # opened at 2 of 3
    third = await open_commit(slack, fake_slack, deps, titles[1])
    await slack.view_submission("ULEAD", third, commit_values("UT06", due))
    await deps.inflight.wait_idle(timeout=5)
    capped = await slack.view_submission("ULEAD", fourth, commit_values("UT08", due))
    assert capped.json["response_action"] == "update"
    assert "already has 3 initiatives on the go" in str(capped.json["view"])
    await click(slack, deps, "ULEAD", InitiativeAction.COMMIT, card_for(fake_slack, titles[3]))
    assert "already has 3 initiatives on the go" in last_ephemeral(fake_slack, "ULEAD")
    await drain_outbox(deps, clock)

    # Owners hear about it; one declines (with a reason), the others accept.
    offer = offer_to(fake_slack, "UT05")
    assert validate_message(offer.get("text"), offer["blocks"]) == []
    assert "Slip alerts the same day" in rendered(offer)
    await click(slack, deps, "UT06", InitiativeAction.ACCEPT, offer)  # not theirs to answer
    await click(slack, deps, "UT05", InitiativeAction.DECLINE, offer)
    reason_form = top_view(fake_slack, "UT05")
    assert reason_form["callback_id"] == InitiativeView.DECLINE
    await slack.view_submission(
        "UT05", reason_form, {"initiative.reason": {"initiative.reason.input": "On leave in May"}}
    )
    await deps.inflight.wait_idle(timeout=5)
    for owner in ("UT07", "UT06"):
        await click(slack, deps, owner, InitiativeAction.ACCEPT, offer_to(fake_slack, owner))
    await drain_outbox(deps, clock)
    declined = next(
        m for m in reversed(fake_slack.dms_to("ULEAD")) if buttons(m, InitiativeAction.COMMIT)
    )
    assert "On leave in May" in rendered(declined)
    assert "You declined" in rendered(fake_slack.messages_in(offer["channel"])[-1])

    # The leader reassigns the declined one; the new owner accepts.
    await click(slack, deps, "ULEAD", InitiativeAction.COMMIT, declined)
    reassign = top_view(fake_slack, "ULEAD")
    assert reassign["title"]["text"] == "Reassign initiative"
    await slack.view_submission("ULEAD", reassign, commit_values("UT09", due))
    await deps.inflight.wait_idle(timeout=5)
    await drain_outbox(deps, clock)
    await click(slack, deps, "UT09", InitiativeAction.ACCEPT, offer_to(fake_slack, "UT09"))

    async with sessions() as session:
        rows = (await session.scalars(select(Initiative).order_by(Initiative.id))).all()
    assert [(i.title, i.status, i.owner_id) for i in rows] == [
        ("Slip alerts the same day", InitiativeStatus.ACCEPTED, "UT09"),
        ("Monthly finance office hours", InitiativeStatus.ACCEPTED, "UT06"),
        ("Shared sales roadmap page", InitiativeStatus.ACCEPTED, "UT07"),
        ("Demo day every sprint", InitiativeStatus.PROPOSED, None),
    ]
    assert rows[2].cadence_weeks == 2
    await deps.coalescer.flush()
    redrawn = card_for(fake_slack, "Slip alerts the same day")  # renamed when committed
    assert "<@UT09> owns it" in rendered(redrawn)
    assert not buttons(redrawn, InitiativeAction.BACK)
    assert buttons(card_for(fake_slack, "Demo day every sprint"), InitiativeAction.BACK)

    # Quick wins: only against one's own initiative.
    await slack.slash_command("UT07", "win Sales found the roadmap page on their own")
    await deps.inflight.wait_idle(timeout=5)
    assert "Logged your quick win" in last_response(fake_slack)
    await slack.slash_command("UT01", "win I did a thing")
    await deps.inflight.wait_idle(timeout=5)
    assert "don't own an initiative" in last_response(fake_slack)
    # Slack escapes what was typed; the win is kept as written.
    await slack.slash_command("UT06", "win R&amp;D saw the &lt;new&gt; page")
    await deps.inflight.wait_idle(timeout=5)
    async with sessions() as session:
        wins = (await session.scalars(select(QuickWin))).all()
    assert [(w.author_id, w.text) for w in wins] == [
        ("UT07", "Sales found the roadmap page on their own"),
        ("UT06", "R&D saw the <new> page"),
    ]

    # The Homes: the owner's commitments, the leader's pipeline.
    await slack.app_home_opened("UT07")
    await deps.inflight.wait_idle(timeout=5)
    home = rendered(fake_slack.home_views["UT07"])
    assert "Shared sales roadmap page" in home
    assert "next check-in" in home
    await slack.app_home_opened("ULEAD")
    await deps.inflight.wait_idle(timeout=5)
    leader_home = rendered(fake_slack.home_views["ULEAD"])
    assert "Demo day every sprint — proposed" in leader_home
    assert "<@UT09>" in leader_home

    # The export: theme → outcome → initiative, with owners, due dates and implications.
    from bot.services.tour_export import export_tour
    from tests.journeys import the_tour

    async with sessions() as session:
        record = (await export_tour(session, tour=await the_tour(sessions))).record()
    chains = {link["initiative"]: link for link in record["initiatives"]}
    assert set(chains) == {title for title in (row.title for row in rows)}
    link = chains["Slip alerts the same day"]
    assert link["owner_id"] == "UT09"
    assert link["due_date"] == due
    assert link["implications"] == "We'll tell partners first, before they ask."
    assert link["outcome"] == "Finance hears about slips the day we know"
    assert link["theme"]


async def slip_alerts_offered_to_ut05(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> Json:
    """UT04 proposes "Slip alerts", the leader commits it to UT05: UT05's offer DM."""
    await initiative_proposed(slack, fake_slack, deps, clock, sessions, team)
    view = await open_commit(slack, fake_slack, deps, "Slip alerts")
    due = (clock.now() + timedelta(days=30)).date().isoformat()
    await slack.view_submission("ULEAD", view, commit_values("UT05", due))
    await deps.inflight.wait_idle(timeout=5)
    await drain_outbox(deps, clock)
    return offer_to(fake_slack, "UT05")


@pytest.mark.parametrize("action", [InitiativeAction.ACCEPT, InitiativeAction.DECLINE])
async def test_someone_else_cannot_answer_an_offer(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
    action: InitiativeAction,
) -> None:
    offer = await slip_alerts_offered_to_ut05(slack, fake_slack, deps, clock, sessions, team)
    await slack.block_action(
        "UT06", action, value=button_value(offer, action), message=offer, channel_id="CSQUAD"
    )
    await deps.inflight.wait_idle(timeout=5)
    assert "Only the person it was offered to" in last_ephemeral(fake_slack, "UT06")
    async with sessions() as session:
        status = await session.scalar(select(Initiative.status))
    assert status is InitiativeStatus.OFFERED


async def test_the_leader_withdraws_an_offer_its_owner_has_not_answered(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    """From the App Home: only the leader may; the owner hears of it, their Accept no longer
    works, and the place under the cap is free for another commitment."""
    offer = await slip_alerts_offered_to_ut05(slack, fake_slack, deps, clock, sessions, team)

    async def withdraw_from_home(user_id: str) -> None:
        await slack.app_home_opened("ULEAD")
        await deps.inflight.wait_idle(timeout=5)
        home = fake_slack.home_views["ULEAD"]
        [button] = buttons(home, InitiativeAction.WITHDRAW, prefix=True)
        assert button["text"]["text"] == "Withdraw offer: Slip alerts"
        await slack.block_action(user_id, button["action_id"], value=button["value"], view=home)
        await deps.inflight.wait_idle(timeout=5)

    async def status() -> InitiativeStatus | None:
        async with sessions() as session:
            return await session.scalar(select(Initiative.status))

    await withdraw_from_home("UT06")  # not the leader (nor an admin)
    assert await status() is InitiativeStatus.OFFERED
    assert "can withdraw an offer" in rendered(top_view(fake_slack, "UT06"))

    await withdraw_from_home("ULEAD")
    await drain_outbox(deps, clock)
    assert await status() is InitiativeStatus.CLOSED
    assert (
        "<@ULEAD> withdrew the offer to own *Slip alerts*" in fake_slack.dms_to("UT05")[-1]["text"]
    )
    leader_home = rendered(fake_slack.home_views["ULEAD"])
    assert "Slip alerts — <@UT05> · closed" in leader_home
    assert "Withdraw offer" not in leader_home

    await slack.block_action(  # the owner answers the offer afterwards
        "UT05",
        InitiativeAction.ACCEPT,
        value=button_value(offer, InitiativeAction.ACCEPT),
        message=offer,
        channel_id=offer["channel"],
    )
    await deps.inflight.wait_idle(timeout=5)
    assert "isn't open any more" in last_ephemeral(fake_slack, "UT05")
    assert await status() is InitiativeStatus.CLOSED
    async with sessions() as session:
        tour_id = await session.scalar(select(Initiative.tour_id))
        assert tour_id is not None
        assert await initiatives_service.active_count(session, tour_id=tour_id) == 0


def findings_post(fake: FakeSlack) -> Json:
    """The first message the bot posted in the team channel: the tour's findings."""
    return next(m for m in fake.messages if m["channel"] == "CSQUAD" and not m["dm_user"])


async def test_a_forged_decline_form_cannot_redraw_another_message(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    """The decline form's private_metadata once said which message to redraw: a request signed
    with the signing secret could point it at the channel's findings post. Where the offer is
    is now read from what the bot sent it."""
    offer = await slip_alerts_offered_to_ut05(slack, fake_slack, deps, clock, sessions, team)
    target = findings_post(fake_slack)
    before = json.dumps(target, sort_keys=True)
    await click(slack, deps, "UT05", InitiativeAction.DECLINE, offer)
    form = top_view(fake_slack, "UT05")
    forged = json.loads(form["private_metadata"])
    forged.update(channel=target["channel"], ts=target["ts"])
    form["private_metadata"] = json.dumps(forged)
    mark = len(fake_slack.calls)
    answer = await slack.view_submission(
        "UT05", form, {"initiative.reason": {"initiative.reason.input": "On leave"}}
    )
    await deps.inflight.wait_idle(timeout=5)
    assert answer.status == 200
    updated = [c.args["ts"] for c in fake_slack.calls[mark:] if c.method == "chat.update"]
    assert target["ts"] not in updated
    assert offer["ts"] in updated
    assert json.dumps(findings_post(fake_slack), sort_keys=True) == before
    # The offer itself is redrawn, answered.
    assert "You declined" in rendered(fake_slack.messages_in(offer["channel"])[-1])


async def test_an_accept_click_naming_another_message_redraws_only_the_offer(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    """The Accept button redrew the message the click said it came from: a signed click could
    name the findings post as that message."""
    offer = await slip_alerts_offered_to_ut05(slack, fake_slack, deps, clock, sessions, team)
    target = findings_post(fake_slack)
    before = json.dumps(target, sort_keys=True)
    click_on_offer = slack.payloads.block_actions(
        "UT05",
        InitiativeAction.ACCEPT,
        value=button_value(offer, InitiativeAction.ACCEPT),
        message=offer,
        channel_id=offer["channel"],
    )
    forged = {
        **click_on_offer,
        "channel": {**click_on_offer["channel"], "id": target["channel"]},
        "message": {**click_on_offer["message"], "ts": target["ts"]},
    }
    mark = len(fake_slack.calls)
    assert (await slack.deliver("interactive", forged)).status == 200
    await deps.inflight.wait_idle(timeout=5)
    updated = [c.args["ts"] for c in fake_slack.calls[mark:] if c.method == "chat.update"]
    assert target["ts"] not in updated
    assert offer["ts"] in updated
    assert json.dumps(findings_post(fake_slack), sort_keys=True) == before
    answered = fake_slack.messages_in(offer["channel"])[-1]
    assert answered["ts"] == offer["ts"]
    assert not buttons(answered, InitiativeAction.ACCEPT)
