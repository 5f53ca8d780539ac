"""The refusals that listeners used to send themselves, now raised and shown by the one error
handler: each reaches the person where it did before (under the click, in place of the question
clicked, next to the form's input, as the command's answer), in the same words, and nothing is
written."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.checkins import CheckinAction, CheckinBlock
from bot.blocks.findings import FindingsAction
from bot.blocks.initiatives import InitiativeAction
from bot.blocks.metadata import InitiativeMetadata
from bot.blocks.moderation import ModerationBlock
from bot.blocks.outcomes import OutcomeAction, OutcomeView
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.flows.outcomes import InitiativeStatus
from bot.models import (
    Answer,
    Initiative,
    InitiativeBacking,
    Outcome,
    OutcomeProposal,
    QuickWin,
    Tour,
    TourStatus,
    Vote,
)
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from tests.journeys import (
    LOCAL_TEN,
    a_quoted_answer,
    accepted,
    button_value,
    buttons,
    card_for,
    checkins_to,
    closed_tour,
    command,
    drain_outbox,
    hide_values,
    initiative_proposed,
    launch,
    open_hide_modal,
    poll_closed,
    post_findings,
    shapers_asked,
    the_tour,
    theme_options,
    tick_at,
)


def ephemerals_to(fake: FakeSlack, user_id: str, since: int = 0) -> list[str]:
    """The ephemeral messages to `user_id`, after the first `since` of all."""
    return [str(e["text"]) for e in fake.ephemerals[since:] if e["user"] == user_id]


async def count(sessions: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_picked_theme_is_refused_under_or_in_place_of_the_question(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await shapers_asked(slack, fake_slack, deps, clock, team)
    await slack.dm("UT03", "Finance hears about every slip within a day")
    await deps.inflight.wait_idle(timeout=5)
    question = fake_slack.dms_to("UT03")[-1]
    picks = buttons(question, OutcomeAction.PICK_THEME, prefix=True)
    answered = len(fake_slack.responses)
    noted = len(fake_slack.ephemerals)  # the naming warning under the reply came before

    async def pick(user_id: str, value: str) -> None:
        await slack.block_action(
            user_id,
            picks[0]["action_id"],
            value=value,
            message=question,
            channel_id=question["channel"],
        )
        await deps.inflight.wait_idle(timeout=5)

    # A button whose value is not a theme: an ephemeral note under the question, which stays.
    await pick("UT03", "not a theme")
    assert ephemerals_to(fake_slack, "UT03", noted) == ["That button no longer points at a theme."]
    assert len(fake_slack.responses) == answered
    # Someone the leader did not ask: the question is replaced by why not.
    await pick("UT09", picks[0]["value"])
    said = fake_slack.responses[-1]["body"]
    assert said["replace_original"] is True
    assert said["text"] == "Only the people the leader asked can propose outcomes."
    # The theme decided meanwhile: step 3's rules say so, in place of the question.
    async with sessions.begin() as session:
        proposal_theme = json.loads(picks[0]["value"])["theme"]
        tour = await session.scalar(select(Tour))
        assert tour is not None
        session.add(
            Outcome(
                tour_id=tour.id,
                theme_id=proposal_theme,
                statement="Decided",
                partner="Finance",
                measure="m",
                target_date=clock.now().date(),
                committed_at=clock.now(),
            )
        )
    await pick("UT03", picks[0]["value"])
    said = fake_slack.responses[-1]["body"]
    assert said["replace_original"] is True
    assert "already decided" in said["text"]
    assert len(fake_slack.responses) == answered + 2
    assert await count(sessions, OutcomeProposal) == 0
    assert ephemerals_to(fake_slack, "UT03", noted) == ["That button no longer points at a theme."]


async def test_themes_that_are_not_the_tours_are_refused_next_to_the_themes(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await poll_closed(slack, fake_slack, deps, clock, team)
    await slack.block_action(
        "ULEAD", OutcomeAction.SET_OUTCOMES, view=fake_slack.home_views["ULEAD"]
    )
    await deps.inflight.wait_idle(timeout=5)
    setup = fake_slack.views[fake_slack.view_stack("ULEAD")[-1]]
    assert setup["callback_id"] == OutcomeView.SETUP
    option = theme_options(setup)["options"][0]
    dms = len(fake_slack.dms_to("UT01"))
    answer = await slack.view_submission(
        "ULEAD",
        setup,
        {
            "outcomes.shapers": {
                "outcomes.shapers.input": {"type": "multi_users_select", "selected_users": ["UT01"]}
            },
            "outcomes.themes": {
                "outcomes.themes.input": {
                    "type": "checkboxes",
                    "selected_options": [{**option, "value": "999999"}],  # another tour's
                }
            },
        },
    )
    assert answer.json is not None
    assert answer.json["response_action"] == "errors"
    assert list(answer.json["errors"]) == ["outcomes.themes"]
    assert fake_slack.view_stack("ULEAD")[-1] == setup["id"]  # the form stays, as filled
    await deps.inflight.wait_idle(timeout=5)
    await drain_outbox(deps, clock)
    assert len(fake_slack.dms_to("UT01")) == dms  # nobody asked


async def test_a_vote_button_that_points_nowhere_is_refused_under_the_poll(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)
    post = await post_findings(slack, fake_slack, deps)
    answered = len(fake_slack.responses)
    noted = len(fake_slack.ephemerals)
    await slack.block_action(
        "UT04", FindingsAction.VOTE, value="not a poll", message=post, channel_id="CSQUAD"
    )
    await deps.inflight.wait_idle(timeout=5)
    assert ephemerals_to(fake_slack, "UT04", noted) == ["That button no longer points at a poll."]
    assert len(fake_slack.responses) == answered
    assert await count(sessions, Vote) == 0


async def test_backing_is_refused_under_the_card(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await initiative_proposed(slack, fake_slack, deps, clock, sessions, team)
    card = card_for(fake_slack, "Slip alerts")
    noted = len(fake_slack.ephemerals)
    value = button_value(card, InitiativeAction.BACK)

    async def back(user_id: str, channel_id: str, value: str = value) -> None:
        await slack.block_action(
            user_id, InitiativeAction.BACK, value=value, message=card, channel_id=channel_id
        )
        await deps.inflight.wait_idle(timeout=5)

    # A card whose initiative is gone.
    await back("UT01", "CSQUAD", value="999999")
    assert ephemerals_to(fake_slack, "UT01", noted) == ["I can't find that initiative any more."]
    # Someone outside the tour's team, seeing the card in another channel.
    fake_slack.add_channel("COTHER", "other", members=["UOUTSIDER"])
    await back("UOUTSIDER", "COTHER")
    assert ephemerals_to(fake_slack, "UOUTSIDER", noted) == [
        "Only the tour's team can back its initiatives."
    ]
    # Once the leader has decided on it.
    async with sessions.begin() as session:
        await session.execute(update(Initiative).values(status=InitiativeStatus.OFFERED))
    await back("UT02", "CSQUAD")
    assert ephemerals_to(fake_slack, "UT02", noted) == [
        "The leader has already decided on this one, so backing is closed."
    ]
    assert await count(sessions, InitiativeBacking) == 0


async def test_the_tour_controls_refuse_as_the_commands_answer(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:5])
    tour = await the_tour(sessions)
    fake_slack.add_user("UBOT", "a-bot", is_bot=True)
    assert await command(slack, deps, clock, "ULEAD", "cancel 999999") == (
        "I can't find tour 999999."
    )
    assert await command(slack, deps, clock, "ULEAD", f"co-lead <@UNOBODY> {tour.id}") == (
        "Slack doesn't know <@UNOBODY>."
    )
    assert await command(slack, deps, clock, "ULEAD", f"co-lead <@UBOT> {tour.id}") == (
        "<@UBOT> can't lead a tour: only a person with an active account can."
    )
    assert await command(slack, deps, clock, "ULEAD", f"co-lead <@ULEAD> {tour.id}") == (
        f"<@ULEAD> already leads *{tour.title}*."
    )
    said = fake_slack.responses[-1]["body"]
    assert said["response_type"] == "ephemeral"
    assert said["replace_original"] is False
    assert await command(slack, deps, clock, "ULEAD", f"extend 2026-03-01 {tour.id}") == (
        "That day has passed; pick today or a later day."
    )
    await launch(slack, fake_slack, deps, users=team[5:8], title="Second tour")
    second = await command(slack, deps, clock, "ULEAD", "cancel")
    assert second.startswith("You lead 2 open tours (")
    assert second.endswith("Add the number of the one you mean.")
    async with sessions.begin() as session:
        await session.execute(update(Tour).values(status=TourStatus.CLOSED))
    assert await command(slack, deps, clock, "ULEAD", f"cancel {tour.id}") == (
        "This tour is not open any more: only an open tour can be changed."
    )
    async with sessions() as session:
        kept = await session.get(Tour, tour.id)
        assert kept is not None
        assert kept.status is TourStatus.CLOSED


async def test_check_in_refusals_where_the_owner_clicked_or_typed(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    squad: list[str],
) -> None:
    ids = await accepted(slack, fake_slack, deps, sessions)
    await tick_at(deps, clock, LOCAL_TEN["UBERLIN"])
    [asked] = checkins_to(fake_slack, "UBERLIN")
    answered = len(fake_slack.responses)
    noted = len(fake_slack.ephemerals)
    # Snooze on a check-in that is gone: a note under the question, which stays.
    await slack.block_action(
        "UBERLIN",
        CheckinAction.SNOOZE,
        value="999999",
        message=asked,
        channel_id=asked["channel"],
    )
    await deps.inflight.wait_idle(timeout=5)
    assert ephemerals_to(fake_slack, "UBERLIN", noted) == ["I can't find that check-in any more."]
    assert len(fake_slack.responses) == answered

    async def open_form(action: str, owner: str) -> Any:
        await slack.block_action(
            owner, action, value=str(ids[owner]), channel_id=fake_slack.dm_channel_id(owner)
        )
        await deps.inflight.wait_idle(timeout=5)
        return fake_slack.views[fake_slack.view_stack(owner)[-1]]

    # Leave, submitted for an initiative that is gone: the form is replaced by why.
    leave = await open_form(CheckinAction.LEAVE, "UBERLIN")
    leave["private_metadata"] = InitiativeMetadata(initiative_id=999999).dump()
    answer = await slack.view_submission(
        "UBERLIN",
        leave,
        {
            CheckinBlock.LEAVE_UNTIL: {
                f"{CheckinBlock.LEAVE_UNTIL}.input": {
                    "type": "datepicker",
                    "selected_date": "2026-04-01",
                }
            }
        },
    )
    assert answer.json is not None
    assert answer.json["response_action"] == "update"
    assert answer.json["view"]["title"]["text"] == "Check-in"
    assert "I can't find that initiative any more." in json.dumps(answer.json["view"])
    # A new due date that is not ahead: said next to the date, the form kept.
    extend = await open_form(CheckinAction.EXTEND, "UTOKYO")
    answer = await slack.view_submission(
        "UTOKYO",
        extend,
        {
            CheckinBlock.NEW_DUE: {
                f"{CheckinBlock.NEW_DUE}.input": {
                    "type": "datepicker",
                    "selected_date": clock.now().date().isoformat(),
                }
            }
        },
    )
    assert answer.json == {
        "response_action": "errors",
        "errors": {CheckinBlock.NEW_DUE: "Pick a day after today."},
    }
    async with sessions() as session:
        kept = {
            i.owner_id: (i.due_date, i.on_leave_until)
            for i in await session.scalars(select(Initiative))
        }
    assert kept["UTOKYO"][0] == date(2026, 5, 29)
    assert kept["UBERLIN"][1] is None


async def test_hiding_an_answer_refused_next_to_the_answer_picked(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)
    modal = await open_hide_modal(slack, fake_slack, deps)
    # An answer that is not one of this tour's (gone, or forged).
    answer = await slack.view_submission("ULEAD", modal, hide_values("999999"))
    assert answer.json == {
        "response_action": "errors",
        "errors": {ModerationBlock.ANSWER: "That answer can't be hidden here any more."},
    }
    # Someone else submitting the leader's modal, next to the same input.
    answer_id, _ = await a_quoted_answer(sessions)
    forged = await slack.view_submission("UT02", modal, hide_values(answer_id))
    assert forged.json == {
        "response_action": "errors",
        "errors": {ModerationBlock.ANSWER: "Only the tour's leaders or an admin can."},
    }
    async with sessions() as session:
        assert await session.scalar(select(func.count()).where(Answer.hidden)) == 0


async def test_a_win_button_with_no_initiative_opens_a_quick_wins_notice(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    # The button as the App Home of someone who owned an initiative shows it.
    button = {"type": "button", "action_id": InitiativeAction.LOG_WIN, "value": ""}
    home = {"id": "VHOME", "type": "home", "blocks": [{"type": "actions", "elements": [button]}]}
    await slack.block_action("UT01", InitiativeAction.LOG_WIN, value="", view=home)
    await deps.inflight.wait_idle(timeout=5)
    notice = fake_slack.views[fake_slack.view_stack("UT01")[-1]]
    assert notice["title"]["text"] == "Quick wins"
    assert "You don't own an initiative yet" in json.dumps(notice)
    assert await count(sessions, QuickWin) == 0
