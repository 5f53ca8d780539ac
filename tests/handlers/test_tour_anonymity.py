"""Anonymity that holds up to a hostile look, end to end: an anonymous tour never repeats a
member's answers in their DM (whose history anyone with the bot's token can read), and nothing
people wrote is shown until enough people *other than the leader* have answered."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks import unescape
from bot.blocks.findings import FindingsAction
from bot.blocks.tour import TourAction
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.models import Theme
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.scheduler import run_tick
from bot.services.tour_export import export_tour
from tests.journeys import ANSWERS, drain_outbox, launch, rendered, reply, the_tour

PEOPLE = ["UAMY", "UBEN", "UCAL", "UDEV"]
CHAT_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage")


@pytest.fixture
def people(fake_slack: FakeSlack) -> list[str]:
    for user_id in PEOPLE:
        fake_slack.add_user(user_id, user_id.lower(), tz="Europe/Berlin")
    return PEOPLE


@pytest.fixture
def quote_floor_of_3(deps: Deps, monkeypatch: pytest.MonkeyPatch) -> None:
    """QUOTE_MIN_RESPONSES=3: people's words from the same minimum as themes. These tests are
    about whose answers count toward it; the default floor of 5 is tests/handlers/
    test_moderation.py's and tests/flows/test_tour.py's."""
    monkeypatch.setattr(deps.settings, "quote_min_responses", 3)


def bot_messages_in_dm(fake: FakeSlack, user_id: str) -> str:
    """Everything the bot ever put in this person's DM: each post and each update as sent, the
    messages as they stand now, and anything sent to a response_url (unescaped, so an escaped
    quote is still found)."""
    dm = {user_id, fake.dm_channel_id(user_id)}
    sent = [
        call.args
        for call in fake.calls
        if call.method in CHAT_METHODS and call.args.get("channel") in dm
    ]
    standing = fake.dms_to(user_id)
    responses = [response["body"] for response in fake.responses]
    return unescape(json.dumps([sent, standing, responses], ensure_ascii=False))


async def click(
    slack: SignedSlack, deps: Deps, user_id: str, action: TourAction, message: dict[str, Any]
) -> dict[str, Any]:
    """Press a button on a DM message; returns the modal it opened."""
    assert (
        await slack.block_action(user_id, action, message=message, channel_id=message["channel"])
    ).status == 200
    await deps.inflight.wait_idle(timeout=5)
    view: dict[str, Any] = slack.fake.views[slack.fake.view_stack(user_id)[-1]]
    return view


async def submit_form(
    slack: SignedSlack, deps: Deps, user_id: str, form: dict[str, Any], typed: Sequence[str]
) -> dict[str, Any]:
    """Fill the answer form's boxes with `typed` and save; returns the bot's next DM."""
    values = {f"answer.{i}": {f"answer.{i}.input": text} for i, text in enumerate(typed, 1)}
    before = len(slack.fake.dms_to(user_id))
    assert (await slack.view_submission(user_id, form, values)).status == 200
    await deps.inflight.wait_idle(timeout=5)
    sent = slack.fake.dms_to(user_id)
    assert len(sent) == before + 1, f"no reply to {user_id}'s form"
    return sent[-1]


@pytest.mark.parametrize("anonymous", [True, False])
async def test_an_anonymous_tour_never_repeats_answers_in_a_members_dm(
    anonymous: bool,
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    people: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=people, anonymous=anonymous)
    typed: dict[str, list[str]] = {person: [] for person in people}

    async def say(person: str, text: str) -> dict[str, Any]:
        typed[person].append(text)
        return await reply(slack, deps, clock, person, text)

    # Amy answers in the DM, adds a second message to her last answer at once, writes again
    # once done, then edits in the form and adds more.
    await say("UAMY", "amyWorksPairing")
    thanks = await say("UAMY", "amyHurtsStaging")
    clock.advance(seconds=-55)  # 5 s after her last answer: the rest of that thought
    typed["UAMY"].append("amyHurtsMoreFlaky")
    assert (await slack.dm("UAMY", "amyHurtsMoreFlaky")).status == 200
    await deps.inflight.wait_idle(timeout=5)
    await say("UAMY", "amyLateThought")  # after the last question: not saved, not repeated
    form = await click(slack, deps, "UAMY", TourAction.EDIT, thanks)
    typed["UAMY"].append("amyEditedPairing")
    edited = await submit_form(slack, deps, "UAMY", form, ["amyEditedPairing"])
    form = await click(slack, deps, "UAMY", TourAction.ADD_MORE, edited)
    typed["UAMY"] += ["amyAddedDocs", "amyAddedOncall"]
    await submit_form(slack, deps, "UAMY", form, ["amyAddedDocs", "amyAddedOncall"])

    # Ben answers only in the form, then edits it.
    [invitation] = fake_slack.dms_to("UBEN")
    form = await click(slack, deps, "UBEN", TourAction.ANSWER_FORM, invitation)
    typed["UBEN"] += ["benFormGood", "benFormBad"]
    saved = await submit_form(slack, deps, "UBEN", form, ["benFormGood", "benFormBad"])
    form = await click(slack, deps, "UBEN", TourAction.EDIT, saved)
    typed["UBEN"].append("benFormEdited")
    await submit_form(slack, deps, "UBEN", form, ["benFormEdited"])

    # Cal skips the first question, answers the second, then asks for help.
    await reply(slack, deps, clock, "UCAL", "skip")
    await say("UCAL", "calHurtsMeetings")
    await reply(slack, deps, clock, "UCAL", "help")

    # Dev answers the first question and goes quiet: reminders follow until the tour closes.
    await say("UDEV", "devWorksRetros")
    closes_at = (await the_tour(sessions)).closes_at
    while clock.now() + timedelta(hours=1) < closes_at:
        clock.set(clock.now().replace(minute=0, second=0) + timedelta(hours=1))
        await run_tick(deps)
    assert len(fake_slack.dms_to("UDEV")) >= 4  # invitation, question 2 and 2 reminders

    for person in people:
        seen = bot_messages_in_dm(fake_slack, person)
        repeated = [text for text in typed[person] if text in seen]
        if anonymous:
            assert repeated == [], person
    if not anonymous:  # a named tour still shows people what they said
        assert "amyHurtsStaging" in bot_messages_in_dm(fake_slack, "UAMY")
        assert "benFormEdited" in bot_messages_in_dm(fake_slack, "UBEN")


@pytest.mark.parametrize(
    ("anonymous", "others", "shown"),
    [
        (True, 2, False),  # the leader and two members: three answered, two of them others
        (True, 3, True),  # the leader and three members: enough others
        (False, 2, False),  # the same rule in a named tour
    ],
)
async def test_the_leaders_own_answers_never_count_toward_the_minimum(
    anonymous: bool,
    others: int,
    shown: bool,
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    people: list[str],
    quote_floor_of_3: None,
) -> None:
    await launch(slack, fake_slack, deps, users=["ULEAD", *people], anonymous=anonymous)
    answerers = ["ULEAD", *people[:others]]
    texts = []  # what the members wrote (the leader knows their own answers anyway)
    for index, person in enumerate(answerers):
        for question in (0, 1):
            if person != "ULEAD":
                texts.append(ANSWERS[question][index])
            await reply(slack, deps, clock, person, ANSWERS[question][index])
    await slack.block_action("ULEAD", TourAction.CLOSE, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=60)  # grouping runs after the click
    await drain_outbox(deps, clock)

    tour = await the_tour(sessions)
    # One DM to the leader at close: the review prompt when answers may be shown, else the
    # notice saying why nothing is.
    [close_notice] = [m for m in fake_slack.dms_to("ULEAD") if " closed" in m["text"]]
    async with sessions() as session:
        export = await export_tour(session, tour=tour)
        themes = await session.scalar(select(func.count()).where(Theme.tour_id == tour.id))
    assert tour.themes_suggested_at is not None  # grouping ran (or chose not to)
    assert (export.respondents, export.answers_visible) == (others + 1, shown)
    record = json.dumps(export.record(), ensure_ascii=False)
    home = json.dumps(fake_slack.home_views["ULEAD"], ensure_ascii=False)
    review_prompts = [
        m for m in fake_slack.dms_to("ULEAD") if FindingsAction.REVIEW in json.dumps(m["blocks"])
    ]

    await slack.block_action("ULEAD", TourAction.EXPORT, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=5)
    leader_saw = unescape(
        json.dumps(
            [fake_slack.dms_to("ULEAD"), [fake_slack.views[v] for v in fake_slack.views]],
            ensure_ascii=False,
        )
    )
    # The count of who answered is always shown.
    assert f"{others + 1} of 5 answered" in rendered(close_notice)
    if shown:
        assert all(text in record for text in texts)
        assert all(text in leader_saw for text in texts)  # the export reached the leader
        assert review_prompts == [close_notice]
        assert TourAction.EXPORT in json.dumps(close_notice["blocks"])
        assert "themes to review" in home
        return
    # Nothing people wrote, anywhere the leader looks: no answers, no themes, no quotes.
    assert themes == 0
    assert review_prompts == []
    assert "themes to review" not in home
    assert FindingsAction.REVIEW not in home  # no Review themes button to press
    assert not any(text in record for text in texts)
    assert not any(text in leader_saw for text in texts)
    assert TourAction.EXPORT not in json.dumps(close_notice["blocks"])
    # ...and the leader is told honestly why.
    assert (
        "at least 3 people besides you have answered, so nobody can be singled out; 2 have. "
        "Your own answers don't count toward that" in rendered(close_notice)
    )
    assert "no themes are suggested" in rendered(close_notice)
    export_notice = json.dumps(fake_slack.views[fake_slack.view_stack("ULEAD")[-1]])
    assert "3 of 5 have answered" in export_notice
    assert "besides you have answered" in export_notice


async def test_an_admin_acting_for_the_leader_does_not_count_their_own_answers(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    people: list[str],
    quote_floor_of_3: None,
) -> None:
    """A workspace admin may export any tour; one who answered it knows their own answers, so
    for them the minimum counts the others only (here 2): the leader, who did not answer, sees
    3 people's answers."""
    fake_slack.add_user("UADMIN", "admin", is_admin=True, tz="Europe/Berlin")
    await launch(slack, fake_slack, deps, users=["UADMIN", *people])
    texts = []
    for index, person in enumerate(["UADMIN", *people[:2]]):
        for question in (0, 1):
            texts.append(ANSWERS[question][index])
            await reply(slack, deps, clock, person, ANSWERS[question][index])
    await slack.block_action("ULEAD", TourAction.CLOSE, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=60)
    await drain_outbox(deps, clock)
    async with sessions() as session:
        tour = await the_tour(sessions)
        assert (await export_tour(session, tour=tour)).answers_visible  # the leader: 3 others
        as_admin = await export_tour(session, tour=tour, reader_id="UADMIN")
    assert not as_admin.answers_visible
    assert not any(text in json.dumps(as_admin.record(), ensure_ascii=False) for text in texts)

    await slack.block_action("UADMIN", TourAction.EXPORT, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=5)
    told = json.dumps(fake_slack.views[fake_slack.view_stack("UADMIN")[-1]])
    assert "at least 3 people besides you and <@ULEAD> have answered" in told
    assert not any(text in unescape(json.dumps(fake_slack.dms_to("UADMIN"))) for text in texts[2:])

    # Nor can they submit the leader's theme review, whose themes quote people's answers.
    prompt = next(
        m for m in fake_slack.dms_to("ULEAD") if FindingsAction.REVIEW in json.dumps(m["blocks"])
    )
    await slack.block_action(
        "ULEAD", FindingsAction.REVIEW, message=prompt, channel_id=prompt["channel"]
    )
    await deps.inflight.wait_idle(timeout=5)
    review = fake_slack.views[fake_slack.view_stack("ULEAD")[-1]]
    answer = await slack.view_submission("UADMIN", review, {})
    assert answer.json is not None
    assert answer.json["response_action"] == "update"
    assert "besides you and <@ULEAD>" in json.dumps(answer.json["view"])


@pytest.mark.parametrize(
    ("answered", "quoted"),
    [
        (4, False),  # 4 answers of 6 asked: themes to review, but no quote (default floor 5)
        (5, True),  # 5: the themes quote people's words
    ],
)
async def test_quotes_need_five_answers_by_default(
    answered: int,
    quoted: bool,
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    six = [f"UQ{n}" for n in range(6)]
    for user_id in six:
        fake_slack.add_user(user_id, user_id.lower(), tz="Europe/Berlin")
    await launch(slack, fake_slack, deps, users=six)
    texts = []
    for index, person in enumerate(six[:answered]):
        for question in (0, 1):
            texts.append(ANSWERS[question][index])
            await reply(slack, deps, clock, person, ANSWERS[question][index])
    await slack.block_action("ULEAD", TourAction.CLOSE, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=60)
    await drain_outbox(deps, clock)

    prompt = next(
        m for m in fake_slack.dms_to("ULEAD") if FindingsAction.REVIEW in json.dumps(m["blocks"])
    )  # themes to review either way
    await slack.block_action(
        "ULEAD", FindingsAction.REVIEW, message=prompt, channel_id=prompt["channel"]
    )
    await deps.inflight.wait_idle(timeout=5)
    review = unescape(json.dumps(fake_slack.views[fake_slack.view_stack("ULEAD")[-1]]))
    assert any(text in review for text in texts) is quoted
    async with sessions() as session:
        export = await export_tour(session, tour=await the_tour(sessions))
    record = json.dumps(export.record(), ensure_ascii=False)
    assert any(text in record for text in texts) is quoted
    await slack.block_action("ULEAD", TourAction.EXPORT, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=5)
    leader_saw = unescape(json.dumps(fake_slack.dms_to("ULEAD"), ensure_ascii=False))
    assert any(text in leader_saw for text in texts) is quoted
