"""Refusals (`UserFacingError`, worded per feature in bot/refusals/) reach the person through the
one error handler, in the place the request came from, with the feature's words and title."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.tour import TourAction
from bot.deps import Deps
from bot.models import Answer
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from tests.journeys import launch, platform_team


@pytest.fixture
def team(fake_slack: FakeSlack) -> list[str]:
    """#platform-team's 25 people rather than the handlers' #squad."""
    return platform_team(fake_slack)


async def _open_answer_form(slack: SignedSlack, fake: FakeSlack, deps: Deps) -> str:
    """The id of the answer form UM001 opened from their invitation."""
    [invitation] = fake.dms_to("UM001")
    await slack.block_action(
        "UM001", TourAction.ANSWER_FORM, message=invitation, channel_id=invitation["channel"]
    )
    await deps.inflight.wait_idle(timeout=5)
    [form_id] = fake.view_stack("UM001")
    return form_id


async def test_a_refused_submission_replaces_the_modal_with_the_features_words(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3])
    form_id = await _open_answer_form(slack, fake_slack, deps)
    fake_slack.views[form_id]["private_metadata"] = "not what the bot wrote"  # an old form
    answer = await slack.view_submission("UM001", form_id, {"answer.1": {"answer.1.input": "hi"}})
    assert answer.status == 200
    assert answer.json is not None
    assert answer.json["response_action"] == "update"
    view = answer.json["view"]
    assert view["title"]["text"] == "Listening tour"
    assert "This form is out of date; please open it again." in json.dumps(view)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Answer)) == 0


async def test_a_refused_click_under_a_message_is_answered_there(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3])
    [invitation] = fake_slack.dms_to("UM001")
    answer = await slack.block_action(
        "UM001",
        TourAction.ANSWER_FORM,
        value="not a tour",
        message=invitation,
        channel_id=invitation["channel"],
    )
    await deps.inflight.wait_idle(timeout=5)
    assert answer.status == 200
    [refusal] = [e for e in fake_slack.ephemerals if e["user"] == "UM001"]
    assert refusal["text"] == "That button no longer points at a tour."
    assert fake_slack.view_stack("UM001") == []  # no form opened


async def test_a_refused_click_on_the_app_home_opens_a_notice_with_the_features_title(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3])
    await slack.block_action("ULEAD", TourAction.CLOSE, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=5)
    await slack.block_action("ULEAD", TourAction.CLOSE, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=5)
    [notice_id] = fake_slack.view_stack("ULEAD")
    notice = fake_slack.views[notice_id]
    assert notice["title"]["text"] == "Listening tour"
    assert "This tour was already closed." in json.dumps(notice)
