"""Step 1 end to end: a leader launches a tour from the modal, members answer in DMs and in the
form, reminders and close run on `tick`, and the export shows what the leader may see."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.tour import TourAction, TourView
from bot.clock import FrozenClock
from bot.db import is_sqlite
from bot.deps import Deps
from bot.errors import EventAlreadyProcessed
from bot.flows.tour import DEFAULT_QUESTIONS, LaunchBlock, question_block
from bot.models import (
    Answer,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantStatus,
    Question,
    Tour,
    TourKey,
    TourStatus,
)
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.scheduler import run_tick
from bot.services import answers as answer_services
from bot.services import dm as dm_services
from bot.services.tour_export import export_tour
from bot.store.events import EventClaim, record_event
from bot.store.tours import get_tour
from tests.journeys import (
    every_row,
    launch,
    launch_values,
    open_launch_modal,
    platform_team,
    rendered,
    reply,
    the_tour,
)

WAITING_FOR_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


@pytest.fixture
def team(fake_slack: FakeSlack) -> list[str]:
    """#platform-team's 25 people rather than the handlers' #squad."""
    return platform_team(fake_slack)


# --- launching -------------------------------------------------------------------------------


async def test_the_command_opens_a_prefilled_launch_modal(
    slack: SignedSlack, fake_slack: FakeSlack, team: list[str]
) -> None:
    view = await open_launch_modal(
        slack, fake_slack, "<@UM001|member0> <@UM002> <#CPLATFORM|platform>"
    )
    blocks = {block["block_id"]: block for block in view["blocks"] if "block_id" in block}
    assert view["callback_id"] == TourView.LAUNCH
    people = blocks[LaunchBlock.PEOPLE]["element"]
    assert people["initial_users"] == ["UM001", "UM002"]
    assert blocks[LaunchBlock.CHANNEL]["element"]["initial_conversation"] == "CPLATFORM"
    assert blocks[LaunchBlock.TITLE]["element"]["initial_value"] == "Listening tour – March 2026"
    assert blocks[question_block(0)]["element"]["initial_value"] == "What's working well?"
    assert blocks[LaunchBlock.CLOSE_DATE]["element"]["initial_date"] == "2026-03-09"


async def test_an_expired_trigger_is_reported_not_swallowed(
    slack: SignedSlack, fake_slack: FakeSlack, deps: Deps
) -> None:
    fake_slack.fail_next("views.open", error="expired_trigger_id")
    answer = await slack.slash_command("ULEAD", "tour")
    await deps.inflight.wait_idle(timeout=5)
    assert answer.status == 200
    [told] = fake_slack.responses
    assert "something went wrong" in told["body"]["text"]


@pytest.mark.parametrize(
    ("values", "block", "says"),
    [
        ({"users": (), "channel": None}, LaunchBlock.PEOPLE, "Pick the people"),
        ({"close_date": "2026-03-01"}, LaunchBlock.CLOSE_DATE, "passed"),
        ({"min_responses": "2"}, LaunchBlock.MIN_RESPONSES, "At least 3"),
        ({"results": "CQUIET"}, LaunchBlock.RESULTS, "/invite @Partnerbot"),
    ],
)
async def test_launch_problems_come_back_inline(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
    values: dict[str, Any],
    block: str,
    says: str,
) -> None:
    view = await open_launch_modal(slack, fake_slack)
    filled = {"users": ("UM001", "UM002", "UM003"), **values}
    answer = await slack.view_submission("ULEAD", view, launch_values(**filled))
    assert answer.json is not None
    assert answer.json["response_action"] == "errors"
    assert says in answer.json["errors"][block]
    assert fake_slack.view_stack("ULEAD")  # the modal stays open with the leader's input
    async with sessions() as session:
        assert await session.scalar(select(Tour)) is None


# --- the whole tour --------------------------------------------------------------------------


@pytest.mark.usefixtures("dm_one_trip")
async def test_a_25_person_tour_from_launch_to_export(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, channel="CPLATFORM")

    # Everyone gets exactly one invitation; the leader, the deactivated account and the bot don't.
    for member in team:
        [invitation] = fake_slack.dms_to(member)
        shown = rendered(invitation)
        assert "<@ULEAD>" in shown
        assert "never with your name" in shown
        assert "What's working well?" in shown
    assert fake_slack.dms_to("UGONE") == []
    assert fake_slack.dms_to("UHELPER") == []
    [confirmation] = fake_slack.dms_to("ULEAD")
    assert "25" in rendered(confirmation)
    assert "Skipped 2" in rendered(confirmation)
    assert "ULEAD" in fake_slack.home_views

    special = {
        "UM001": ("Pairing works 🧑🏽‍💻👍", "الاجتماعات طويلة جدًا"),  # emoji with ZWJ, RTL
        "UM002": ("x" * 40_000, "<!channel> please fix the build"),  # huge, and a would-be ping
        "UM003": ("Deploys\nare fast", "NUL\x00 and tabs\t"),
    }
    answered_in_dm = team[:20]
    expected_texts: list[str] = []
    for member in answered_in_dm:
        first, second = special.get(
            member, (f"{member} likes the standups", f"{member}: CI is slow")
        )
        question_two = await reply(slack, deps, clock, member, first)
        assert "Question 2 of 2" in rendered(question_two)
        thanks = await reply(slack, deps, clock, member, second)
        assert "Edit" in rendered(thanks)
        expected_texts += [first, second]
    # the would-be ping comes back escaped
    assert "<!channel>" not in rendered(fake_slack.dms_to("UM002")[-1])

    for member in team[20:23]:  # three prefer the form
        [invitation] = fake_slack.dms_to(member)
        clicked = await slack.block_action(
            member, TourAction.ANSWER_FORM, message=invitation, channel_id=invitation["channel"]
        )
        assert clicked.status == 200
        await deps.inflight.wait_idle(timeout=5)
        [form_id] = fake_slack.view_stack(member)
        form = fake_slack.views[form_id]
        typed = {
            "answer.1": {"answer.1.input": f"{member} form: docs"},
            "answer.2": {"answer.2.input": f"{member} form: on-call"},
        }
        submitted = await slack.view_submission(member, form, typed)
        assert submitted.status == 200
        await deps.inflight.wait_idle(timeout=5)
        assert "Thank you" in rendered(fake_slack.dms_to(member)[-1])
        expected_texts += [f"{member} form: docs", f"{member} form: on-call"]
    silent = team[23:]

    # Reminders: 2 days before close (Saturday 7 March) and on the last day, from 10:00 local,
    # to those who have not answered, and never in their evening or night. Tick hourly.
    closes_at = (await the_tour(sessions)).closes_at
    while clock.now() + timedelta(hours=1) < closes_at:
        clock.set(clock.now().replace(minute=0, second=0) + timedelta(hours=1))
        await run_tick(deps)
    dms = [c for c in fake_slack.calls_to("chat.postMessage") if c.ok]
    for member in team:
        received = [c for c in dms if c.args.get("channel") == member]
        if member not in silent:
            # invitation, question 2, thanks (DM) or invitation, thanks (form): no reminder
            assert len(received) == (3 if member in answered_in_dm else 2), member
            continue
        reminders = received[1:]  # after the invitation
        tz = ZoneInfo(fake_slack.users[member]["tz"])
        local = [datetime.fromtimestamp(c.at, UTC).astimezone(tz) for c in reminders]
        assert [moment.date() for moment in local] == [date(2026, 3, 7), date(2026, 3, 9)]
        assert all(10 <= moment.hour < 20 for moment in local), (member, local)

    # The tour closes at 23:59 Berlin time on its close date; the leader is told the count.
    clock.set((await the_tour(sessions)).closes_at)
    await run_tick(deps)
    assert (await the_tour(sessions)).status is TourStatus.CLOSED
    notice = fake_slack.dms_to("ULEAD")[-1]
    assert "23 of 25" in rendered(notice)
    await run_tick(deps)  # closing again does nothing
    assert fake_slack.dms_to("ULEAD")[-1] == notice

    async with sessions() as session:
        export = await export_tour(session, tour=await the_tour(sessions))
    assert (export.participants, export.respondents) == (25, 23)
    exported = [text for _, answers in export.questions for text in answers]
    assert sorted(exported) == sorted(expected_texts)
    # after close a member is told kindly that it is over
    late = await reply(slack, deps, clock, silent[0], "sorry I'm late")
    assert "closed" in rendered(late)


# --- replies, edits, retries -----------------------------------------------------------------


async def answers_in_db(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return sorted((await session.scalars(select(Answer.text))).all())


@pytest.mark.usefixtures("dm_one_trip")
async def test_retried_and_replayed_dm_events_store_one_answer(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3])
    clock.advance(minutes=1)
    event = slack.payloads.dm_event("UM001", "Retros are honest")
    first = await slack.event(event, event_id="EvDM1")
    await deps.inflight.wait_idle(timeout=5)
    for retry in (1, 2, 3):  # Slack's retries, then a replay of the same signed request
        await slack.event(event, event_id="EvDM1", retry_num=retry)
        await deps.inflight.wait_idle(timeout=5)
    await slack.event(event, event_id="EvDM1")
    await deps.inflight.wait_idle(timeout=5)
    assert first.status == 200
    assert await answers_in_db(sessions) == ["Retros are honest"]
    assert len(fake_slack.dms_to("UM001")) == 2  # the invitation and one "Question 2"


async def test_a_plain_dm_answer_takes_the_path_the_setting_names(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
    monkeypatch: pytest.MonkeyPatch,
    dm_one_trip: bool,
) -> None:
    """DM_ONE_TRIP on: the busiest path in one read and one write, never routed in full (a plan
    that silently failed to be written would still be answered by the routed path, slowly).
    Off: never planned, every DM routed in one ORM transaction. The same answers either way."""
    questions = [*DEFAULT_QUESTIONS, "What should we stop doing?"]
    await launch(slack, fake_slack, deps, users=team[:3], questions=questions)
    written: list[bool] = []
    routed: list[str] = []
    write, route = answer_services.write_planned_answer, dm_services.route_dm

    async def noted(*args: Any, **kwargs: Any) -> Any:
        queued = await write(*args, **kwargs)
        written.append(queued is not None)  # None: the plan was overtaken, nothing written
        return queued

    async def noted_route(*args: Any, **kwargs: Any) -> Any:
        routed.append(kwargs["text"])
        return await route(*args, **kwargs)

    monkeypatch.setattr(answer_services, "write_planned_answer", noted)
    monkeypatch.setattr(dm_services, "route_dm", noted_route)
    sent = ["Retros are honest", "Releases wait for sign-off"]
    for answer in sent:
        clock.advance(minutes=5)  # past the window in which a message joins the one before
        await reply(slack, deps, clock, "UM001", answer)
    assert (written, routed) == (([True, True], []) if dm_one_trip else ([], sent))
    assert await answers_in_db(sessions) == ["Releases wait for sign-off", "Retros are honest"]
    async with sessions() as session:
        participant = await session.scalar(
            select(Participant).where(Participant.user_id == "UM001")
        )
    assert participant is not None
    assert (participant.current_position, participant.responded) == (2, True)


async def test_one_event_on_both_paths_at_once_takes_its_locks_in_one_order(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
    database_url: str,
) -> None:
    """PostgreSQL: a delivery on the full path (event claimed, then the tour locked) while a
    retry of the same event writes its plan. Claiming first on both paths means the second
    waits for the first, rather than each holding what the other wants (a deadlock)."""
    if is_sqlite(database_url):
        pytest.skip("PostgreSQL's row locks (SQLite has one writer at a time)")
    await launch(slack, fake_slack, deps, users=team[:3])
    tour = await the_tour(sessions)
    clock.advance(minutes=1)
    async with deps.engine.connect() as connection:
        plan = await answer_services.plan_dm_answer(
            connection, team_id=tour.team_id, user_id="UM001", text="Hi", message_ts="1.0"
        )
    assert plan is not None
    claim = EventClaim("EvBoth", tour.team_id, "message", clock.now())
    async with sessions() as full:
        await full.begin()
        assert await record_event(full, claim)

        async def planned() -> Any:
            async with deps.engine.connect() as connection:
                return await answer_services.write_planned_answer(
                    connection,
                    plan,
                    team_id=tour.team_id,
                    user_id="UM001",
                    event=claim,
                    now=clock.now(),
                    lease_for=deps.delivery.lease_for,
                )

        retry = asyncio.create_task(planned())
        async with deps.engine.connect() as watcher, asyncio.timeout(5):
            while not await watcher.scalar(WAITING_FOR_A_LOCK):  # the retry waits on us now
                await watcher.rollback()  # pg_stat_activity is read once a transaction
                await asyncio.sleep(0.01)
        await get_tour(full, tour_id=tour.id, lock=True)  # the full path's next step
        await full.commit()
    with pytest.raises(EventAlreadyProcessed):
        await retry


@pytest.mark.parametrize("meanwhile", ["answered in the form", "tour closed"])
async def test_a_dm_answer_overtaken_between_its_read_and_its_write_is_worked_out_again(
    meanwhile: str,
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bot plans a DM answer from a read and writes it only if the person is still on that
    question of an open tour; otherwise the message is worked out again inside the write."""
    await launch(slack, fake_slack, deps, users=team[:3])
    planned = answer_services.plan_dm_answer
    plans: list[answer_services.PlannedAnswer | None] = []

    async def plan_then_overtake(session: AsyncSession, **kwargs: Any) -> Any:
        plan = await planned(session, **kwargs)
        plans.append(plan)
        async with sessions.begin() as other:  # another request, between the read and the write
            tour = await other.scalar(select(Tour))
            assert tour is not None
            if meanwhile == "tour closed":
                tour.status, tour.closed_at = TourStatus.CLOSED, clock.now()
            else:
                first = await other.scalar(select(Question).where(Question.position == 0))
                assert first is not None
                other.add(
                    Answer(
                        id="f" * 32,
                        tour_id=tour.id,
                        question_id=first.id,
                        respondent=plan.respondent if plan else "",
                        text="From the form",
                    )
                )
                await other.execute(
                    update(Participant)
                    .where(Participant.user_id == "UM001")
                    .values(current_position=1, status=ParticipantStatus.ANSWERING)
                )
        return plan

    monkeypatch.setattr(answer_services, "plan_dm_answer", plan_then_overtake)
    answered = await reply(slack, deps, clock, "UM001", "Retros are honest")

    assert [plan.position if plan else None for plan in plans] == [0]  # the plan was made...
    if meanwhile == "tour closed":  # ...and not written: the closed tour is what they hear of
        assert "closed on" in answered["text"]
        assert await answers_in_db(sessions) == []
    else:  # ...the message answers the question they are on now, the last of two
        assert await answers_in_db(sessions) == ["From the form", "Retros are honest"]
        assert answered["text"] == "Thank you! Your answers are saved."


async def test_a_dm_planned_as_the_next_answer_joins_the_one_before_if_that_grew_meanwhile(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whether a message joins the answer before it depends on when that answer last grew: a
    message joined to it between this one's read and its write makes this one a join too."""
    questions = [*DEFAULT_QUESTIONS, "What should we stop doing?"]
    await launch(slack, fake_slack, deps, users=team[:3], questions=questions)
    await reply(slack, deps, clock, "UM001", "Retros are honest")  # on question 2 now
    planned = answer_services.plan_dm_answer
    plans: list[answer_services.PlannedAnswer | None] = []

    async def plan_then_grow(session: AsyncSession, **kwargs: Any) -> Any:
        plan = await planned(session, **kwargs)
        plans.append(plan)
        async with sessions.begin() as other:  # a message joined to answer 1, a second before
            joined_at = f"{float(kwargs['message_ts']) - 1:.6f}"
            await other.execute(
                update(Answer).values(text="Retros are honest\nmostly", last_message_ts=joined_at)
            )
        return plan

    monkeypatch.setattr(answer_services, "plan_dm_answer", plan_then_grow)
    answered = await reply(slack, deps, clock, "UM001", "and blameless")

    assert [plan.position if plan else None for plan in plans] == [1]  # planned as answer 2...
    assert await answers_in_db(sessions) == ["Retros are honest\nmostly\nand blameless"]
    assert answered["text"].startswith("Added that to your answer")  # ...joined to answer 1


async def test_the_form_edits_and_adds_to_answers(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3])
    await reply(slack, deps, clock, "UM001", "Good tools")
    thanks = await reply(slack, deps, clock, "UM001", "Slow reviews")
    assert "Your 2 answers" in rendered(thanks)  # counted, not quoted (an anonymous tour)

    await slack.block_action("UM001", TourAction.EDIT, message=thanks, channel_id=thanks["channel"])
    await deps.inflight.wait_idle(timeout=5)
    form = fake_slack.views[fake_slack.view_stack("UM001")[-1]]
    prefilled = [b["element"].get("initial_value") for b in form["blocks"] if b["type"] == "input"]
    assert prefilled == ["Good tools", "Slow reviews"]
    await slack.view_submission(
        "UM001",
        form,
        {"answer.1": {"answer.1.input": "Great tools"}, "answer.2": {"answer.2.input": ""}},
    )
    await deps.inflight.wait_idle(timeout=5)
    assert await answers_in_db(sessions) == ["Great tools"]  # replaced, and the emptied one gone

    edited = fake_slack.dms_to("UM001")[-1]
    await slack.block_action(
        "UM001", TourAction.ADD_MORE, message=edited, channel_id=edited["channel"]
    )
    await deps.inflight.wait_idle(timeout=5)
    form = fake_slack.views[fake_slack.view_stack("UM001")[-1]]
    added = {"answer.1": {"answer.1.input": "and docs"}, "answer.2": {"answer.2.input": "CI"}}
    await slack.view_submission("UM001", form, added)
    await deps.inflight.wait_idle(timeout=5)
    assert await answers_in_db(sessions) == ["CI", "Great tools\nand docs"]
    dms = len(fake_slack.dms_to("UM001"))

    replayed = await slack.view_submission("UM001", form, added)  # the same submission again
    await deps.inflight.wait_idle(timeout=5)
    assert replayed.status == 200
    assert await answers_in_db(sessions) == ["CI", "Great tools\nand docs"]  # added once
    assert len(fake_slack.dms_to("UM001")) == dms


@pytest.mark.usefixtures("dm_one_trip")
async def test_split_messages_join_skip_and_help(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3])
    help_reply = await reply(slack, deps, clock, "UM001", "help")
    assert "What's working well?" in rendered(help_reply)  # repeats the current question
    await reply(slack, deps, clock, "UM001", "The team is kind")
    clock.advance(seconds=-55)  # the next message 5 s after the last one: the same thought
    joined = await slack.dm("UM001", "and on-call is fair")
    assert joined.status == 200
    await deps.inflight.wait_idle(timeout=5)
    assert "Added" in rendered(fake_slack.dms_to("UM001")[-1])
    finished = await reply(slack, deps, clock, "UM001", "skip")
    assert "_skipped_" in rendered(finished) or "skipped" in rendered(finished).lower()
    assert await answers_in_db(sessions) == ["The team is kind\nand on-call is fair"]
    again = await reply(slack, deps, clock, "UM001", "one more thing")
    assert "Edit" in rendered(again)


@pytest.mark.usefixtures("dm_one_trip")
async def test_a_reply_goes_to_the_tour_whose_question_was_asked_last(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3], title="Platform tour")
    await launch(slack, fake_slack, deps, users=team[:3], title="Ops tour", questions=["Ops?"])
    await reply(slack, deps, clock, "UM001", "answer for ops")  # the Ops invitation came last
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Tour.title, Answer.text).join(Answer, Answer.tour_id == Tour.id)
            )
        ).all()
    assert [tuple(row) for row in rows] == [("Ops tour", "answer for ops")]


@pytest.mark.usefixtures("dm_one_trip")
async def test_replies_with_no_tour_get_help(
    slack: SignedSlack, fake_slack: FakeSlack, deps: Deps, clock: FrozenClock
) -> None:
    answer = await reply(slack, deps, clock, "UALICE", "hello?")
    assert "no open listening tour" in rendered(answer)


# --- anonymity -------------------------------------------------------------------------------


async def test_no_row_links_a_member_to_an_answer_in_an_anonymous_tour(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:4])
    texts = {member: (f"secret-good-{n}", f"secret-bad-{n}") for n, member in enumerate(team[:3])}
    for member, (good, bad) in texts.items():
        await reply(slack, deps, clock, member, good)
        await reply(slack, deps, clock, member, bad)
    await deps.delivery.deliver_due()

    all_texts = [t for pair in texts.values() for t in pair]
    for table, row in await every_row(sessions):
        if any(t in row for t in all_texts):
            assert not any(member in row for member in team), (table, row)

    tour = await the_tour(sessions)
    async with sessions() as session:
        export = await export_tour(session, tour=tour)
    record = json.dumps(export.record())
    assert not any(member in record for member in team)
    assert export.named is None

    # closing destroys the key: afterwards nobody can tell whose answers are whose
    async with sessions.begin() as session:
        assert await session.scalar(select(TourKey)) is not None
    await slack.block_action("ULEAD", TourAction.CLOSE, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=5)
    async with sessions() as session:
        assert await session.scalar(select(TourKey)) is None
        assert (await session.get(Tour, tour.id)).status is TourStatus.CLOSED  # type: ignore[union-attr]


async def test_export_shows_counts_only_below_the_minimum(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:5])
    for member in team[:2]:
        await reply(slack, deps, clock, member, f"only-{member}")
    async with sessions() as session:
        export = await export_tour(session, tour=await the_tour(sessions))
    assert (export.participants, export.respondents, export.answers_visible) == (5, 2, False)
    assert "only-" not in json.dumps(export.record())

    await slack.block_action("ULEAD", TourAction.EXPORT, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=5)
    [notice_id] = fake_slack.view_stack("ULEAD")
    assert "2 of 5" in json.dumps(fake_slack.views[notice_id])


@pytest.mark.usefixtures("dm_one_trip")
async def test_named_tour_answers_carry_the_member(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3], anonymous=False)
    assert "will see your name" in rendered(fake_slack.dms_to("UM001")[0])
    for member in team[:3]:
        await reply(slack, deps, clock, member, f"named-{member}")
    await slack.block_action("ULEAD", TourAction.EXPORT, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=5)
    export_dm = fake_slack.dms_to("ULEAD")[-1]
    assert "<@UM001>" in rendered(export_dm)
    assert "named-UM001" in rendered(export_dm)


# --- the leader's buttons --------------------------------------------------------------------


@pytest.mark.parametrize("action", [TourAction.CLOSE, TourAction.EXPORT, TourAction.REMIND])
async def test_only_the_leader_may_act_on_a_tour(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
    action: TourAction,
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3])
    outbox_before = len(fake_slack.calls_to("chat.postMessage"))
    # Someone else's click on the leader's buttons (Slack would need a forged payload, or a
    # shared screen; either way the bot must refuse).
    answer = await slack.block_action("UM001", action, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=5)
    await deps.delivery.deliver_due()
    assert answer.status == 200
    [refusal] = fake_slack.view_stack("UM001")
    assert "Only <@ULEAD>" in json.dumps(fake_slack.views[refusal])
    assert (await the_tour(sessions)).status is TourStatus.OPEN
    assert len(fake_slack.calls_to("chat.postMessage")) == outbox_before


async def test_a_workspace_admin_may_close_a_tour(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    fake_slack.add_user("UADMIN", "admin", is_admin=True)
    await launch(slack, fake_slack, deps, users=team[:3])
    await slack.block_action("UADMIN", TourAction.CLOSE, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=5)
    assert (await the_tour(sessions)).status is TourStatus.CLOSED


async def test_remind_now_once_a_day_to_unfinished_people_in_their_daytime(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3])
    await reply(slack, deps, clock, "UM001", "a")
    await reply(slack, deps, clock, "UM001", "b")  # finished: not reminded
    home = fake_slack.home_views["ULEAD"]
    await slack.block_action("ULEAD", TourAction.REMIND, view=home)  # minutes after launch
    await deps.inflight.wait_idle(timeout=5)
    [notice] = fake_slack.view_stack("ULEAD")
    assert "less than a day ago" in json.dumps(fake_slack.views[notice])
    fake_slack.close_view("ULEAD", notice)
    clock.advance(days=1)
    await slack.block_action("ULEAD", TourAction.REMIND, view=home)
    await deps.inflight.wait_idle(timeout=5)
    [notice] = fake_slack.view_stack("ULEAD")
    assert "2 people" in json.dumps(fake_slack.views[notice])
    fake_slack.close_view("ULEAD", notice)

    # 09:04 UTC Tuesday: UM002 is in Berlin (10:04) and UM003 in Kolkata (14:34): both daytime.
    await deps.delivery.deliver_due()
    assert len(fake_slack.dms_to("UM002")) == 2
    assert len(fake_slack.dms_to("UM003")) == 2
    assert len(fake_slack.dms_to("UM001")) == 3  # invitation, question 2, thanks

    await slack.block_action("ULEAD", TourAction.REMIND, view=home)
    await deps.inflight.wait_idle(timeout=5)
    [notice] = fake_slack.view_stack("ULEAD")
    assert "less than a day ago" in json.dumps(fake_slack.views[notice])


# --- when Slack fails ------------------------------------------------------------------------


async def test_a_slack_failure_during_launch_replaces_the_modal_with_a_reference(
    slack: SignedSlack, fake_slack: FakeSlack, deps: Deps, team: list[str]
) -> None:
    view = await open_launch_modal(slack, fake_slack)
    await deps.inflight.wait_idle(timeout=5)  # the command's own lookups are done
    # #platform was not prefetched, so the submission must ask Slack whether the bot is in it
    fake_slack.fail_next("conversations.info", status=500)
    answer = await slack.view_submission(
        "ULEAD", view, launch_values(users=team[:3], results="CPLATFORM")
    )
    await deps.inflight.wait_idle(timeout=5)
    assert answer.status == 200
    assert answer.json is not None
    assert answer.json["response_action"] == "update"
    [shown] = fake_slack.view_stack("ULEAD")
    assert "something went wrong" in json.dumps(fake_slack.views[shown])
    assert "reference" in json.dumps(fake_slack.views[shown])


async def test_a_failure_after_a_home_click_is_told_in_a_dm(
    slack: SignedSlack, fake_slack: FakeSlack, deps: Deps, team: list[str]
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3])
    fake_slack.fail_next("users.info", status=500)  # checking whether UM001 is an admin
    await slack.block_action("UM001", TourAction.CLOSE, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=5)
    told = fake_slack.dms_to("UM001")[-1]
    assert "something went wrong" in told["text"]


async def test_edits_and_other_message_events_are_acknowledged_and_ignored(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "channel": fake_slack.dm_channel_id("UALICE"),
        "channel_type": "im",
        "message": {"user": "UALICE", "text": "changed my mind", "ts": "1.0"},
        "ts": "2.0",
    }
    answer = await slack.event(edited)
    await deps.inflight.wait_idle(timeout=5)
    assert answer.status == 200
    assert fake_slack.dms_to("UALICE") == []
    assert await answers_in_db(sessions) == []


async def test_the_form_after_close_says_so_kindly(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3])
    [invitation] = fake_slack.dms_to("UM001")
    await slack.block_action(
        "UM001", TourAction.ANSWER_FORM, message=invitation, channel_id=invitation["channel"]
    )
    await deps.inflight.wait_idle(timeout=5)
    [form_id] = fake_slack.view_stack("UM001")
    clock.set((await the_tour(sessions)).closes_at)
    await run_tick(deps)
    answer = await slack.view_submission(
        "UM001", fake_slack.views[form_id], {"answer.1": {"answer.1.input": "too late"}}
    )
    assert answer.json is not None
    assert answer.json["response_action"] == "update"
    assert "closed" in json.dumps(answer.json["view"])
    assert await answers_in_db(sessions) == []


async def test_the_launch_submission_asks_slack_nothing_before_its_ack(
    slack: SignedSlack, fake_slack: FakeSlack, deps: Deps, team: list[str]
) -> None:
    view = await open_launch_modal(slack, fake_slack)  # the command looked up what it needs
    await deps.inflight.wait_idle(timeout=5)
    # Any lookup before the ack would now fail and turn the answer into an error notice.
    fake_slack.fail_next("users.info", status=500)
    fake_slack.fail_next("conversations.info", status=500)
    answer = await slack.view_submission("ULEAD", view, launch_values(users=team[:3]))
    await deps.inflight.wait_idle(timeout=5)
    assert answer.status == 200
    assert answer.json is None  # a plain acknowledgement: the modal closes
    assert fake_slack.view_stack("ULEAD") == []


# --- when it closes, as each person sees it --------------------------------------------------


async def test_the_close_reaches_everyone_as_a_date_in_their_own_zone(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3])
    closes_at = (await the_tour(sessions)).closes_at
    # Slack shows the token in each reader's zone; the fallback is the leader's (Berlin) time.
    token = (
        f"<!date^{int(closes_at.timestamp())}^{{date_long_pretty}} at {{time}}"
        "|Monday 9 March, 23:59 Europe/Berlin>"
    )
    [invitation] = fake_slack.dms_to("UM001")
    [confirmation] = fake_slack.dms_to("ULEAD")
    for message in (invitation, confirmation):
        assert token in json.dumps(message["blocks"], ensure_ascii=False)
        assert "<!date" not in message["text"]  # Slack does not parse it there


@pytest.mark.parametrize(
    ("closed_late_by", "shown"),
    [
        # Close now on the launch day: the card says that day, not the planned Monday 9 March
        (None, "closed on Monday 2 March"),
        # the closing tick ran just after midnight: still the day people were told
        (timedelta(minutes=2), "closed on Monday 9 March"),
    ],
)
async def test_the_home_card_shows_the_day_the_tour_closed(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
    closed_late_by: timedelta | None,
    shown: str,
) -> None:
    await launch(slack, fake_slack, deps, users=team[:3])
    tour = await the_tour(sessions)
    if closed_late_by is None:
        await slack.block_action("ULEAD", TourAction.CLOSE, view=fake_slack.home_views["ULEAD"])
        await deps.inflight.wait_idle(timeout=5)
        clock.advance(minutes=1)  # past the rate gate that spaces one person's home updates
    else:
        clock.set(tour.closes_at + closed_late_by)
        await run_tick(deps)
    await deps.delivery.deliver_due()
    assert (await the_tour(sessions)).status is TourStatus.CLOSED
    cards = [
        block["text"]["text"]
        for block in fake_slack.home_views["ULEAD"]["blocks"]
        if block.get("block_id") == f"home.tour.{tour.id}"
    ]
    assert len(cards) == 1
    assert shown in cards[0]


async def test_replies_reach_slack_through_the_outbox_and_keep_no_answer_at_rest(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
    dm_one_trip: bool,
) -> None:
    """Each DM reply is an outbox row, sent at once; the thank-you, which in a named tour
    quotes the person's answers, keeps none of them in the outbox once it is sent. The routed
    path cannot tell which replies quote nothing, so it keeps every reply private."""
    await launch(slack, fake_slack, deps, users=team[:3], anonymous=False)
    await reply(slack, deps, clock, "UM001", "Retros are honest")
    thanks = await reply(slack, deps, clock, "UM001", "Releases wait for sign-off")
    assert "Releases wait for sign-off" in json.dumps(thanks)  # the thank-you quotes them
    async with sessions() as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.idempotency_key.like("reply:%"))
            )
        )
    assert [row.status for row in rows] == [OutboxStatus.SENT, OutboxStatus.SENT]
    # The planned next question quotes nothing; the routed path keeps every reply private.
    assert [row.private for row in rows] == [not dm_one_trip, True]
    stored = json.dumps([row.payload for row in rows])
    assert "Retros are honest" not in stored
    assert "Releases wait for sign-off" not in stored


@pytest.mark.usefixtures("dm_one_trip")
async def test_a_reply_that_cannot_be_sent_at_once_is_sent_later_and_nothing_false_is_said(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The answer is committed with its reply queued; if sending the reply at once fails (the
    database busy recording it, say), the member is not told "nothing was changed": the
    worker sends the reply when its lease ends."""
    await launch(slack, fake_slack, deps, users=team[:3])
    before = len(fake_slack.dms_to("UM001"))

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(deps.delivery, "_start", broken)
    clock.advance(minutes=1)
    assert (await slack.dm("UM001", "Retros are honest")).status == 200
    await deps.inflight.wait_idle(timeout=10)
    assert len(fake_slack.dms_to("UM001")) == before  # not sent yet, and nothing else said
    monkeypatch.undo()
    clock.advance(seconds=deps.delivery.lease_for.total_seconds() + 1)
    await deps.delivery.deliver_due()
    sent = fake_slack.dms_to("UM001")[before:]
    assert len(sent) == 1
    assert "Question 2 of 2" in json.dumps(sent[0])
    assert "nothing was changed" not in json.dumps(fake_slack.messages)


async def test_a_second_launch_given_up_tells_the_leader_again(
    slack: SignedSlack, fake_slack: FakeSlack, deps: Deps, clock: FrozenClock
) -> None:
    """A launch with nobody to ask is removed; on SQLite the next tour takes its id, and its
    notice must not be taken for the first one's (and dropped as already sent)."""
    for _ in range(2):
        clock.advance(minutes=1)
        await launch(slack, fake_slack, deps, users=["UNOBODY"])
        await deps.delivery.deliver_due()
    told = [m for m in fake_slack.dms_to("ULEAD") if "Nobody to ask" in json.dumps(m)]
    assert len(told) == 2
