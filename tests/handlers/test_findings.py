"""Step 2 end to end: a closed tour's answers grouped into themes, the leader's review, the
channel post with its poll, votes with budgets, insights, and the close of the poll."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks import unescape
from bot.blocks.findings import FindingsAction, FindingsView
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.export import to_csv
from bot.flows.review import MAX_SUGGESTED_THEMES, default_picks, side_rank
from bot.models import Poll, PollStatus, ThemeSource, Vote
from bot.sandbox.block_kit import validate_message, validate_view
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.scheduler import run_tick
from bot.services.tour_export import export_tour
from tests.journeys import (
    ANSWERS,
    NAMES,
    closed_tour,
    drain_outbox,
    open_review,
    post_findings,
    rendered,
    the_tour,
    themes_of,
    vote,
)


def view_blocks(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block for block in view["blocks"] if "block_id" in block}


async def test_themes_are_suggested_reviewed_posted_voted_and_closed(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)

    suggested = await themes_of(sessions, ThemeSource.SUGGESTED)
    assert 1 <= len(suggested) <= MAX_SUGGESTED_THEMES
    timed = deps.metrics.registry.get_sample_value("partnerbot_theme_engine_seconds_count")
    assert timed == 1  # the theme engine ran once, and /metrics timed it
    for theme in suggested:
        assert not any(name.lower() in theme.label.lower() for name in NAMES), theme.label

    review = await open_review(slack, fake_slack, deps)
    all_answers = {text for texts in ANSWERS.values() for text in texts}
    quotes = [
        unescape(line).strip().strip("“”")
        for block in review["blocks"]
        if block["type"] == "context"
        for element in block["elements"]
        for line in element["text"].split("\n")
        if line.strip().startswith("“")
    ]
    assert quotes, "the review shows the themes' quotes"
    assert set(quotes) <= all_answers  # verbatim, whole answers

    message = await post_findings(slack, fake_slack, deps)
    assert validate_message(message.get("text"), message["blocks"]) == []
    shown = rendered(message)
    assert "Priorities change without a why" in shown
    final = await themes_of(sessions, ThemeSource.FINAL)
    ticked = default_picks([theme.kind for theme in suggested])
    assert len(final) == sum(ticked) - (1 if len(ticked) >= 3 and ticked[2] else 0)

    # Twelve people vote; each has 3 votes, at most 2 on one theme.
    voters = team[:12]
    for voter in voters:
        assert "left" in await vote(slack, deps, fake_slack, voter, 0)
        await vote(slack, deps, fake_slack, voter, 0)
        capped = await vote(slack, deps, fake_slack, voter, 0)  # a third on one theme: refused
        assert "2" in capped
        await vote(slack, deps, fake_slack, voter, 1)
    refused = await vote(slack, deps, fake_slack, voters[0], 1)  # the fourth vote
    assert "used all your votes" in refused
    moved = await vote(slack, deps, fake_slack, voters[0], 0, remove=True)  # move one vote
    assert "left" in moved
    await vote(slack, deps, fake_slack, voters[0], 1)
    outsider = await vote(slack, deps, fake_slack, "UOUTSIDER", 0)
    assert "Only people in the channel" in outsider

    await deps.coalescer.flush()
    updated = fake_slack.messages_in("CSQUAD")[0]
    stale = json.loads(json.dumps(updated))  # what a voter's screen still shows after close
    expected = {0: 12 * 2 - 1, 1: 12 + 1}
    for index, count in expected.items():
        assert f"` {count}" in rendered(updated), (index, count)
    tour = await the_tour(sessions)
    async with sessions() as session:
        totals = {
            theme_id: total
            for theme_id, total in (await session.execute(select(Vote.theme_id, Vote.count))).all()
            if total
        }
        export = await export_tour(session, tour=tour)
    assert sorted(t[3] for t in export.themes if t[3]) == sorted(expected.values())
    assert len(totals) >= 2

    # Only the leader closes the poll; then the ranking is final and clicks are refused.
    close = {"value": str((await _poll(sessions)).id)}
    await slack.block_action(
        "UT01",
        FindingsAction.CLOSE_POLL,
        value=close["value"],
        message=updated,
        channel_id="CSQUAD",
    )
    await deps.inflight.wait_idle(timeout=5)
    assert (await _poll(sessions)).status is PollStatus.OPEN
    await slack.block_action(
        "ULEAD",
        FindingsAction.CLOSE_POLL,
        value=close["value"],
        message=updated,
        channel_id="CSQUAD",
    )
    await deps.inflight.wait_idle(timeout=5)
    await drain_outbox(deps, clock)  # the final redraw and the ranking go through the outbox
    assert (await _poll(sessions)).status is PollStatus.CLOSED
    final_message = fake_slack.messages_in("CSQUAD")[0]
    assert not any(
        e.get("action_id") == FindingsAction.VOTE
        for b in final_message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    )
    ranking = [m for m in fake_slack.messages if m.get("thread_ts") == final_message["ts"]]
    assert ranking
    assert "1." in rendered(ranking[-1])
    late = await vote(slack, deps, fake_slack, team[12], 0, message=stale)
    assert "closed" in late


async def test_a_replayed_click_counts_once(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)
    message = await post_findings(slack, fake_slack, deps)
    button = next(
        element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == FindingsAction.VOTE
    )
    payload = slack.payloads.block_actions(
        "UT01", FindingsAction.VOTE, value=button["value"], message=message, channel_id="CSQUAD"
    )
    for _ in range(3):  # the same signed click, delivered three times
        assert (await slack.deliver("interactive", payload)).status == 200
        await deps.inflight.wait_idle(timeout=5)
    async with sessions() as session:
        counts = (await session.scalars(select(Vote.count))).all()
    assert list(counts) == [1]


@pytest.mark.parametrize("action", [FindingsAction.REVIEW, FindingsAction.SEE_ANSWERS])
async def test_only_the_leader_reviews(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    team: list[str],
    action: FindingsAction,
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)
    if action is FindingsAction.REVIEW:
        screen = fake_slack.home_views["ULEAD"]  # the leader's Home now offers Review themes
    else:
        screen = await open_review(slack, fake_slack, deps)  # See all answers is in the review
    # Someone else's click on the leader's buttons must be refused.
    await slack.block_action("UT02", action, view=screen)
    await deps.inflight.wait_idle(timeout=5)
    [refusal] = fake_slack.view_stack("UT02")
    assert "Only <@ULEAD>" in json.dumps(fake_slack.views[refusal])


async def _poll(sessions: async_sessionmaker[AsyncSession]) -> Poll:
    async with sessions() as session:
        poll = await session.scalar(select(Poll))
    assert poll is not None
    return poll


async def test_a_poll_closes_itself_on_the_day_the_leader_chose(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)
    review = await open_review(slack, fake_slack, deps)
    await slack.view_submission("ULEAD", review, {})
    preview = fake_slack.views[fake_slack.view_stack("ULEAD")[-1]]
    day = (clock.now() + timedelta(days=2)).date().isoformat()
    answer = await slack.view_submission(
        "ULEAD",
        preview,
        {"poll.closes_on": {"poll.closes_on.input": {"type": "datepicker", "selected_date": day}}},
    )
    assert answer.status == 200
    await deps.inflight.wait_idle(timeout=5)
    await run_tick(deps)
    assert (await _poll(sessions)).status is PollStatus.OPEN  # not yet
    clock.advance(days=3)
    await run_tick(deps)
    await drain_outbox(deps, clock)
    assert (await _poll(sessions)).status is PollStatus.CLOSED
    post = fake_slack.messages_in("CSQUAD")[0]
    assert "Final ranking" in rendered(post) or "final" in rendered(post).lower()


async def test_a_stale_review_after_posting_changes_nothing(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)
    other_device = await open_review(slack, fake_slack, deps)  # the same review, left open
    fake_slack.close_view("ULEAD", other_device["id"])
    await post_findings(slack, fake_slack, deps)
    assert fake_slack.view_stack("ULEAD") == []  # posting closed the preview and the review
    await vote(slack, deps, fake_slack, "UT01", 0)

    answer = await slack.view_submission("ULEAD", other_device, {})
    assert answer.json is not None
    assert answer.json["response_action"] == "update"
    assert "already posted" in json.dumps(answer.json["view"])
    async with sessions() as session:
        assert list((await session.scalars(select(Vote.count))).all()) == [1]  # votes kept


async def test_thread_replies_and_the_form_collect_insights(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)
    post = await post_findings(slack, fake_slack, deps)

    def reply_in(thread_ts: str, text: str, user: str = "UT03") -> dict[str, Any]:
        return {
            "type": "message",
            "channel": "CSQUAD",
            "channel_type": "channel",
            "user": user,
            "text": text,
            "ts": fake_slack.next_ts(),
            "thread_ts": thread_ts,
        }

    await slack.event(reply_in(post["ts"], "We could pair on staging fixes &amp; rotate."))
    await slack.event(reply_in("1.000001", "An unrelated thread about lunch."))  # not ours
    await deps.inflight.wait_idle(timeout=5)
    # (The DM answers that name a teammate got private notes of their own, in the DMs.)
    [thanks] = [e for e in fake_slack.ephemerals if e["channel"] == post["channel"]]
    assert thanks["user"] == "UT03"

    share = next(
        element
        for block in post["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == FindingsAction.SHARE_INSIGHT
    )
    await slack.block_action(
        "UT04",
        FindingsAction.SHARE_INSIGHT,
        value=share["value"],
        message=post,
        channel_id="CSQUAD",
    )
    await deps.inflight.wait_idle(timeout=5)
    form = fake_slack.views[fake_slack.view_stack("UT04")[-1]]
    await slack.view_submission(
        "UT04", form, {"insight.text": {"insight.text.input": "Ask Finance to planning."}}
    )
    await deps.inflight.wait_idle(timeout=5)

    async with sessions() as session:
        export = await export_tour(session, tour=await _tour(sessions))
    texts = sorted(text for _, text in export.insights)
    assert texts == ["Ask Finance to planning.", "We could pair on staging fixes & rotate."]
    assert "UT03" not in json.dumps(export.record())  # stored without the writer


async def _tour(sessions: async_sessionmaker[AsyncSession]) -> Any:
    return await the_tour(sessions)


async def test_only_the_leader_posts_the_findings(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)
    review = await open_review(slack, fake_slack, deps)
    await slack.view_submission("ULEAD", review, {})
    preview = fake_slack.views[fake_slack.view_stack("ULEAD")[-1]]
    answer = await slack.view_submission("UT05", preview, {})  # someone else's submission
    await deps.inflight.wait_idle(timeout=5)
    assert answer.json is not None
    assert "Only <@ULEAD>" in json.dumps(answer.json)
    assert fake_slack.messages_in("CSQUAD") == []
    async with sessions() as session:
        assert await session.scalar(select(Poll)) is None


async def test_the_review_the_post_and_the_export_show_sides_and_unthemed_answers(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await closed_tour(slack, fake_slack, deps, clock, team)
    suggested = await themes_of(sessions, ThemeSource.SUGGESTED)
    kinds = [theme.kind for theme in suggested]
    assert kinds == sorted(kinds, key=side_rank)  # challenges first, then what works well
    assert "challenge" in kinds
    assert "strength" in kinds
    total = sum(len(texts) for texts in ANSWERS.values())
    unthemed = total - sum(theme.answer_count for theme in suggested)

    review = await open_review(slack, fake_slack, deps)
    assert validate_view(review) == []
    texts = [
        element["text"]
        for block in review["blocks"]
        for element in ([block.get("text")] if block["type"] == "section" else [])
        + (block.get("elements", []) if block["type"] == "context" else [])
    ]
    tags = {"challenge": "Challenge", "strength": "Working well"}
    for position, theme in enumerate(suggested, start=1):
        assert f"*Theme {position}* · {tags[theme.kind]} · {theme.answer_count} answers" in texts
    fit = f"{unthemed} answers didn't fit a theme — see all answers."
    assert (fit if unthemed else "Every answer is behind one of these themes") in " ".join(texts)

    # The leader keeps one challenge and one strength, as suggested.
    first_strength = kinds.index("strength") + 1
    keep = {1, first_strength}
    values: dict[str, Any] = {
        f"theme.{i}.keep": {
            f"theme.{i}.keep.input": {
                "type": "checkboxes",
                "selected_options": [{"value": "keep"}] if i in keep else [],
            }
        }
        for i in range(1, len(suggested) + 1)
    }
    await slack.view_submission("ULEAD", review, values)
    preview = fake_slack.views[fake_slack.view_stack("ULEAD")[-1]]
    assert preview["callback_id"] == FindingsView.PREVIEW
    await slack.view_submission("ULEAD", preview, {})
    await deps.inflight.wait_idle(timeout=5)
    [message] = fake_slack.messages_in("CSQUAD")
    assert validate_message(message.get("text"), message["blocks"]) == []
    kept = [suggested[0], suggested[first_strength - 1]]
    posted_unthemed = total - sum(theme.answer_count for theme in kept)
    shown = rendered(message)
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert sections[1].splitlines()[0].endswith("· _Challenge_")
    assert sections[2].splitlines()[0].endswith("· _Working well_")
    assert f"{posted_unthemed} of {total} answers fit none of these themes." in shown

    tour = await the_tour(sessions)
    async with sessions() as session:
        export = await export_tour(session, tour=tour)
    record = export.record()
    assert [(t["side"], t["answers"]) for t in record["themes"]] == [
        ("Challenge", kept[0].answer_count),
        ("Working well", kept[1].answer_count),
    ]
    assert record["unthemed_answers"] == posted_unthemed
    rows = list(csv.reader(io.StringIO(to_csv(export.rows("themes")))))
    assert rows[0] == ["label", "side", "summary", "answers", "votes"]
    assert [row[1] for row in rows[1:3]] == ["Challenge", "Working well"]
    assert rows[-1][0] == "(fit no theme)"
    assert rows[-1][3] == str(posted_unthemed)
