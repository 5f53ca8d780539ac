"""Moderation without unmasking, end to end: the leader hides an answer from the answers page
with a reason; it leaves the review, the quotes, the export and the counts; its author is told
(in an anonymous tour by the same DM to everyone who answered, so nobody learns who); nobody but
the tour's leaders and admins may hide; no row links the author to the text."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks import unescape
from bot.blocks.findings import FindingsAction
from bot.blocks.moderation import ModerationAction, ModerationBlock, ModerationView
from bot.blocks.tour import TourAction, TourView
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.models import Answer, Theme
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.services.tour_export import export_tour
from tests.journeys import (
    ANSWERS,
    a_quoted_answer,
    closed_tour,
    drain_outbox,
    every_row,
    hide_values,
    launch,
    open_hide_modal,
    open_review,
    rendered,
    reply,
    the_tour,
    top_view,
)


async def theme_counts(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.sum(Theme.answer_count))) or 0)


async def test_a_hidden_answer_leaves_everything_the_leader_sees_and_nobody_is_named(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await closed_tour(slack, fake_slack, deps, clock, team)  # anonymous, 15 people, 30 answers
    answer_id, text = await a_quoted_answer(sessions)
    author = next(member for n, member in enumerate(team) if text in (ANSWERS[0][n], ANSWERS[1][n]))
    assert text in unescape(json.dumps(await open_review(slack, fake_slack, deps)))
    counted = await theme_counts(sessions)
    modal = await open_hide_modal(slack, fake_slack, deps)
    assert "nobody" in json.dumps(modal)  # the leader is told what is and isn't possible

    answer = await slack.view_submission("ULEAD", modal, hide_values(answer_id))
    assert answer.status == 200
    assert answer.problems == []
    await drain_outbox(deps, clock)
    assert top_view(fake_slack, "ULEAD")["callback_id"] == ModerationView.DONE

    # Gone from the review's quotes, the answers page, the export, and the counts.
    assert text not in unescape(json.dumps(await open_review(slack, fake_slack, deps)))
    await slack.block_action(
        "ULEAD", FindingsAction.SEE_ANSWERS, view=top_view(fake_slack, "ULEAD")
    )
    await deps.inflight.wait_idle(timeout=5)
    assert text not in unescape(json.dumps(top_view(fake_slack, "ULEAD")))
    async with sessions() as session:
        export = await export_tour(session, tour=await the_tour(sessions))
    answers = [a for _, texts in export.questions for a in texts]
    assert text not in answers
    assert len(answers) == 29
    assert await theme_counts(sessions) == counted - 1

    # Everyone who answered got the same notice, with the reason and without the answer.
    for member in team:
        [notice] = [m for m in fake_slack.dms_to(member) if "hid one of the answers" in m["text"]]
        said = unescape(rendered(notice))
        assert "without the name" in said
        assert text not in said
    # Nothing at rest links the author to the text: no row holds both.
    for table, row in await every_row(sessions):
        if text in row:
            assert author not in row, (table, row)
    # Logged, without the text, the reason or anyone's id.
    hidden_logs = [r for r in caplog.records if r.getMessage() == "answer hidden"]
    assert len(hidden_logs) == 1
    assert text not in caplog.text
    assert "without the name" not in caplog.text
    # Hidden answers are not offered again.
    assert answer_id not in json.dumps(await open_hide_modal(slack, fake_slack, deps))


async def test_only_the_tours_leaders_hide_answers(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)
    answer_id, _ = await a_quoted_answer(sessions)
    modal = await open_hide_modal(slack, fake_slack, deps)
    # A member pressing the leader's button is refused...
    answers_page = fake_slack.views[fake_slack.view_stack("ULEAD")[-2]]
    await slack.block_action("UT02", ModerationAction.OPEN, view=answers_page)
    await deps.inflight.wait_idle(timeout=5)
    assert "Only <@ULEAD>" in json.dumps(top_view(fake_slack, "UT02"))
    # ...and a member's forged submission of the leader's modal hides nothing.
    forged = await slack.view_submission("UT02", modal, hide_values(answer_id))
    assert forged.status == 200
    assert ModerationBlock.ANSWER in json.dumps(forged.json)
    # An empty reason comes back inline.
    empty = await slack.view_submission("ULEAD", modal, hide_values(answer_id, reason="  "))
    assert ModerationBlock.REASON in json.dumps(empty.json)
    async with sessions() as session:
        assert not (await session.get(Answer, answer_id)).hidden  # type: ignore[union-attr]


NAMED = ["UN1", "UN2", "UN3", "UN4"]


async def test_in_a_named_tour_the_author_alone_is_told_and_may_rewrite(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    for user_id in NAMED:
        fake_slack.add_user(user_id, user_id.lower(), tz="Europe/Berlin")
    await launch(slack, fake_slack, deps, users=NAMED, anonymous=False, questions=["How is it?"])
    for member in NAMED[:3]:
        await reply(slack, deps, clock, member, f"rough words from {member}")
    tour = await the_tour(sessions)
    async with sessions() as session:
        answer_id = await session.scalar(select(Answer.id).where(Answer.respondent == "UN2"))
    assert answer_id is not None
    # A named tour shows answers while open: Export, then See all answers.
    await slack.block_action("ULEAD", TourAction.EXPORT, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=5)
    export_message = fake_slack.dms_to("ULEAD")[-1]
    await slack.block_action(
        "ULEAD",
        FindingsAction.SEE_ANSWERS,
        message=export_message,
        channel_id=export_message["channel"],
    )
    await deps.inflight.wait_idle(timeout=5)
    await slack.block_action("ULEAD", ModerationAction.OPEN, view=top_view(fake_slack, "ULEAD"))
    await deps.inflight.wait_idle(timeout=5)
    modal = top_view(fake_slack, "ULEAD")
    await slack.view_submission("ULEAD", modal, hide_values(answer_id))
    await drain_outbox(deps, clock)

    [notice] = [m for m in fake_slack.dms_to("UN2") if "hid your answer" in m["text"]]
    for other in ("UN1", "UN3", "UN4"):
        assert not [m for m in fake_slack.dms_to(other) if "hid" in m["text"]]
    async with sessions() as session:
        export = await export_tour(session, tour=tour)
    assert "rough words from UN2" not in json.dumps(export.record())

    # Rewrite: the notice's button opens the answer form; saving shows the answer again.
    await slack.block_action("UN2", TourAction.EDIT, message=notice, channel_id=notice["channel"])
    await deps.inflight.wait_idle(timeout=5)
    form = top_view(fake_slack, "UN2")
    assert form["callback_id"] == TourView.ANSWERS
    [block_id] = [b["block_id"] for b in form["blocks"] if b.get("type") == "input"]
    await slack.view_submission("UN2", form, {block_id: {f"{block_id}.input": "kinder words"}})
    await deps.inflight.wait_idle(timeout=5)
    async with sessions() as session:
        export = await export_tour(session, tour=tour)
    assert "kinder words" in json.dumps(export.record())
