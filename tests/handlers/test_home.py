"""The App Home has one builder: whichever path publishes it (the tab opened, a tour closed,
themes suggested), a leader sees every tour's pipeline and what they own, not just the tour
that changed."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.checkins import CheckinAction
from bot.blocks.home import HomeId
from bot.blocks.initiatives import InitiativeAction
from bot.blocks.tour import TourAction
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.models import Outcome, Tour, TourStatus
from bot.sandbox.block_kit import validate_view
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from tests.journeys import (
    ANSWERS,
    buttons,
    click,
    closed_tour,
    commit_values,
    drain_outbox,
    initiative_proposed,
    launch,
    offer_to,
    open_commit,
    rendered,
    reply,
)

Json = dict[str, Any]


def home_of(fake: FakeSlack, user_id: str) -> Json:
    """What Slack shows on the person's Home tab: the view's content, without Slack's ids."""
    view = fake.home_views[user_id]
    assert validate_view(view) == []
    return {"type": view["type"], "blocks": view["blocks"]}


def homes_published(fake: FakeSlack, user_id: str) -> list[Json]:
    """Every Home the app published for the person, in order, as Slack received it."""
    homes = []
    for call in fake.calls_to("views.publish"):
        if call.ok and call.args.get("user_id") == user_id:
            view = call.args["view"]
            view = json.loads(view) if isinstance(view, str) else view
            homes.append({"type": view["type"], "blocks": view["blocks"]})
    return homes


async def reopen_home(slack: SignedSlack, deps: Deps, user_id: str) -> Json:
    await slack.app_home_opened(user_id)
    await deps.inflight.wait_idle(timeout=5)
    return home_of(slack.fake, user_id)


async def test_closing_a_second_tour_keeps_the_first_tours_pipeline_and_commitments(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    # Tour 1: outcomes agreed, and the leader owns one of its initiatives.
    [first_outcome, _] = await initiative_proposed(
        slack, fake_slack, deps, clock, sessions, team, title="Leader's partner lunch"
    )
    form = await open_commit(slack, fake_slack, deps, "Leader's partner lunch")
    due = (clock.now() + timedelta(days=60)).date().isoformat()
    await slack.view_submission("ULEAD", form, commit_values("ULEAD", due))
    await deps.inflight.wait_idle(timeout=5)
    await drain_outbox(deps, clock)
    await click(slack, deps, "ULEAD", InitiativeAction.ACCEPT, offer_to(fake_slack, "ULEAD"))
    await drain_outbox(deps, clock)
    async with sessions() as session:
        [statement] = await session.scalars(
            select(Outcome.statement).where(Outcome.id == first_outcome)
        )

    # Tour 2: five people answer (themes need five asked), and the leader presses Close now on
    # the Home tab. The close queues the leader's Home; the themes suggested right after queue
    # it again.
    close_date = (clock.now() + timedelta(days=7)).date().isoformat()
    await launch(
        slack, fake_slack, deps, users=team[:5], title="Second tour", close_date=close_date
    )
    for index, member in enumerate(team[:5]):
        await reply(slack, deps, clock, member, ANSWERS[0][index])
        await reply(slack, deps, clock, member, ANSWERS[1][index])
    async with sessions() as session:
        second = await session.scalar(select(Tour).where(Tour.title == "Second tour"))
    assert second is not None
    clock.advance(minutes=1)
    [close] = [
        button
        for button in buttons(fake_slack.home_views["ULEAD"], TourAction.CLOSE)
        if button["value"] == str(second.id)
    ]
    published_before = len(homes_published(fake_slack, "ULEAD"))
    await slack.block_action(
        "ULEAD", TourAction.CLOSE, value=close["value"], view=fake_slack.home_views["ULEAD"]
    )
    await deps.inflight.wait_idle(timeout=60)
    await drain_outbox(deps, clock)
    async with sessions() as session:
        closed = await session.get(Tour, second.id)
    assert closed is not None
    assert closed.status is TourStatus.CLOSED

    # Both Homes, the close's and the suggestions', show tour 2 closed and tour 1 with
    # everything: its pipeline, the "Weekly update…" button and what the leader owns.
    after_close, after_suggestions = homes_published(fake_slack, "ULEAD")[published_before:]
    assert "Review themes" not in rendered(after_close)
    assert "Review themes" in rendered(after_suggestions)
    for home in (after_close, after_suggestions):
        shown = rendered(home)
        assert "Second tour" in shown
        assert "closed on" in shown
        assert statement in shown  # tour 1's pipeline
        assert buttons(home, CheckinAction.DIGEST_SETTINGS)
        assert "Weekly update" in shown
        commitments = shown[shown.index(HomeId.COMMITMENTS) : shown.index(HomeId.TOURS)]
        assert "Leader's partner lunch" in commitments  # "My commitments"
    assert home_of(fake_slack, "ULEAD") == after_suggestions

    # Opening the tab builds the very same view from the same state.
    assert await reopen_home(slack, deps, "ULEAD") == after_suggestions


async def test_the_home_queued_after_suggestions_is_the_home_the_tab_shows(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    team: list[str],
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)  # Close now, then themes suggested
    after_suggestions = home_of(fake_slack, "ULEAD")
    assert "Review themes" in rendered(after_suggestions)
    assert await reopen_home(slack, deps, "ULEAD") == after_suggestions


async def test_the_home_queued_after_a_close_is_the_home_the_tab_shows(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3])
    clock.advance(minutes=1)
    await slack.block_action("ULEAD", TourAction.CLOSE, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=10)
    published_before = len(homes_published(fake_slack, "ULEAD"))
    await drain_outbox(deps, clock)  # nobody answered: no themes, only the close's Home
    [after_close] = homes_published(fake_slack, "ULEAD")[published_before:]
    assert "closed on" in rendered(after_close)
    assert await reopen_home(slack, deps, "ULEAD") == after_close
