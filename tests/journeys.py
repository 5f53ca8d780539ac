"""What people do, as signed HTTP requests to the app and the fake Slack, shared by the tests
that need a tour, its findings, outcomes or initiatives to exist before what they check: launch
and reply (step 1), closed_tour and post_findings (step 2), outcomes_committed (step 3),
propose and initiative_proposed (step 4), drain_outbox between them. Not a test module: a test
never imports another test module (tests/test_architecture.py checks it). Database-level
factories are in tests/factories.py; the people these journeys run with are the `team` and
`squad` fixtures of tests/handlers/conftest.py."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.findings import FindingsAction, FindingsView
from bot.blocks.initiatives import InitiativeAction, InitiativeView
from bot.blocks.moderation import ModerationAction, ModerationBlock, ModerationView
from bot.blocks.outcomes import OutcomeAction, OutcomeView
from bot.blocks.tour import TourAction
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.flows.outcomes import InitiativeStatus
from bot.flows.tour import DEFAULT_QUESTIONS, LaunchBlock, question_block
from bot.models import (
    Answer,
    Base,
    Initiative,
    Outcome,
    OutcomeProposal,
    Participant,
    Theme,
    ThemeQuote,
    ThemeSource,
    Tour,
)
from bot.sandbox.block_kit import validate_message
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.scheduler import run_tick
from tests.conftest import START
from tests.factories import committed_outcome, final_themes, stored_tour

# --- step 1: launching a tour, answering it ------------------------------------------------------
MEMBERS = [f"UM{n:03d}" for n in range(1, 26)]

ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "America/Los_Angeles", "UTC"]


def platform_team(fake_slack: FakeSlack) -> list[str]:
    """25 people in #platform-team across five time zones, plus a deactivated account and a
    bot in the channel (which the tour must skip)."""
    for number, user_id in enumerate(MEMBERS):
        fake_slack.add_user(user_id, f"member{number}", tz=ZONES[number % len(ZONES)])
    fake_slack.add_user("UGONE", "former", deleted=True)
    fake_slack.add_user("UHELPER", "helperbot", is_bot=True)
    fake_slack.add_channel("CPLATFORM", "platform", members=["ULEAD", *MEMBERS, "UGONE", "UHELPER"])
    fake_slack.add_channel("CQUIET", "quiet", members=["ULEAD"], bot_is_member=False)
    return MEMBERS


def launch_values(
    *,
    users: Sequence[str] = (),
    channel: str | None = None,
    questions: Sequence[str] = DEFAULT_QUESTIONS,
    anonymous: bool = True,
    min_responses: str = "3",
    close_date: str = "2026-03-09",
    results: str | None = "CTEAM",
    reminders: bool = True,
    title: str = "Listening tour – March 2026",
    working_hours: str | None = None,
) -> dict[str, dict[str, Any]]:
    def one(block: str, value: Any) -> dict[str, Any]:
        return {block: {f"{block}.input": value}}

    values: dict[str, dict[str, Any]] = {}
    values |= one(LaunchBlock.TITLE, title)
    values |= one(LaunchBlock.PEOPLE, {"type": "multi_users_select", "selected_users": list(users)})
    values |= one(
        LaunchBlock.CHANNEL,
        {"type": "conversations_select", "selected_conversation": channel},
    )
    for position in range(5):
        typed = questions[position] if position < len(questions) else ""
        values |= one(question_block(position), typed)
    choice = "anonymous" if anonymous else "named"
    values |= one(
        LaunchBlock.ANONYMITY,
        {"type": "radio_buttons", "selected_option": {"value": choice}},
    )
    values |= one(LaunchBlock.MIN_RESPONSES, {"type": "number_input", "value": min_responses})
    values |= one(LaunchBlock.CLOSE_DATE, {"type": "datepicker", "selected_date": close_date})
    values |= one(
        LaunchBlock.RESULTS,
        {"type": "conversations_select", "selected_conversation": results},
    )
    checked = [{"value": "on"}] if reminders else []
    values |= one(LaunchBlock.REMINDERS, {"type": "checkboxes", "selected_options": checked})
    if working_hours is not None:
        values |= one(
            LaunchBlock.WORKING_HOURS, {"type": "plain_text_input", "value": working_hours}
        )
    return values


async def open_launch_modal(slack: SignedSlack, fake: FakeSlack, text: str = "") -> dict[str, Any]:
    answer = await slack.slash_command("ULEAD", f"tour {text}".strip(), channel_id="CTEAM")
    assert answer.status == 200
    await fake.wait_for(lambda: bool(fake.view_stack("ULEAD")))  # views.open follows the ack
    [view_id] = fake.view_stack("ULEAD")
    view: dict[str, Any] = fake.views[view_id]
    return view


async def launch(
    slack: SignedSlack, fake: FakeSlack, deps: Deps, **values: Any
) -> dict[str, Any] | None:
    """Fill and submit the launch modal; returns Slack's view answer (errors) if any."""
    view = await open_launch_modal(slack, fake)
    answer = await slack.view_submission("ULEAD", view, launch_values(**values))
    assert answer.status == 200
    assert answer.problems == []
    await deps.inflight.wait_idle(timeout=10)
    await deps.delivery.deliver_due()
    return answer.json


async def reply(
    slack: SignedSlack, deps: Deps, clock: FrozenClock, user_id: str, message: str
) -> dict[str, Any]:
    """A member writes in their DM a minute after their last message; returns the bot's reply."""
    clock.advance(minutes=1)
    before = len(slack.fake.dms_to(user_id))
    sent_dm = await slack.dm(user_id, message)
    assert sent_dm.status == 200
    await deps.inflight.wait_idle(timeout=10)
    sent = slack.fake.dms_to(user_id)
    assert len(sent) == before + 1, f"no reply to {user_id}"
    return sent[-1]


def rendered(message: Mapping[str, Any]) -> str:
    return json.dumps(message.get("blocks") or [], ensure_ascii=False) + str(message.get("text"))


async def the_tour(sessions: async_sessionmaker[AsyncSession]) -> Tour:
    async with sessions() as session:
        tour = await session.scalar(select(Tour))
    assert tour is not None
    return tour


async def every_row(sessions: async_sessionmaker[AsyncSession]) -> Iterator[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            result = await session.execute(text(f'SELECT * FROM "{table.name}"'))  # noqa: S608
            rows += [(table.name, json.dumps([str(v) for v in row])) for row in result.all()]
    return iter(rows)


# --- step 2: a closed tour, the findings posted, the poll ----------------------------------------
TEAM = [f"UT{n:02d}" for n in range(1, 16)]

NAMES = ["Priya", "Marco", "Lena", "Tomás", "Aiko"]

ANSWERS = {
    0: [  # what's working well
        "Code reviews are quick and kind, even for big pull requests.",
        "Reviews come back within a day and the comments are helpful.",
        "Pairing with Priya on reviews taught me a lot.",
        "Our review culture is friendly: people explain instead of block.",
        "The on-call rotation is fair and the runbooks help.",
        "On-call is calm now that alerts are tuned.",
        "Runbooks made my on-call week much less scary.",
        "Standups are short and useful.",
        "We celebrate releases together.",
        "Marco keeps the on-call handover tidy.",
        "Review turnaround is fast.",
        "Friendly code review comments.",
        "Alert noise dropped a lot on call.",
        "Team lunches are great.",
        "Retros lead to real changes.",
    ],
    1: [  # challenges
        "Priorities change every week and nobody tells us why.",
        "We learn about priority changes from other teams first.",
        "Unclear priorities: three urgent projects at once.",
        "The business never explains which project matters most.",
        "Staging is down so often we wait half a day to test.",
        "The staging environment breaks constantly.",
        "Deploys to staging fail and block testing.",
        "Lena can't test anything when staging is broken.",
        "Priorities shift without warning from leadership.",
        "Testing is blocked by flaky staging every sprint.",
        "Nobody knows what the top priority is this quarter.",
        "Staging outages waste hours every week.",
        "Too many meetings on Thursdays.",
        "Our roadmap priorities are a moving target.",
        "Staging data is stale and breaks tests.",
    ],
}


async def closed_tour(
    slack: SignedSlack, fake_slack: FakeSlack, deps: Deps, clock: FrozenClock, team: list[str]
) -> None:
    """15 people answer both questions (30 answers), then the leader presses Close now."""
    await launch(slack, fake_slack, deps, users=team, results="CSQUAD")
    for index, member in enumerate(team):
        await reply(slack, deps, clock, member, ANSWERS[0][index])
        await reply(slack, deps, clock, member, ANSWERS[1][index])
    await slack.block_action("ULEAD", TourAction.CLOSE, view=fake_slack.home_views["ULEAD"])
    await deps.inflight.wait_idle(timeout=60)  # grouping 30 answers runs after the click
    await drain_outbox(deps, clock)


async def drain_outbox(deps: Deps, clock: FrozenClock) -> None:
    """Deliver everything queued, letting the clock pass the one-a-second channel pacing."""
    for _ in range(30):
        await deps.delivery.deliver_due()
        if await deps.delivery.next_wakeup() is None:
            return
        clock.advance(seconds=1)
    raise AssertionError("the outbox did not drain")


async def open_review(slack: SignedSlack, fake_slack: FakeSlack, deps: Deps) -> dict[str, Any]:
    prompt = fake_slack.dms_to("ULEAD")[-1]
    assert "review" in rendered(prompt).lower()
    await slack.block_action(
        "ULEAD", FindingsAction.REVIEW, message=prompt, channel_id=prompt["channel"]
    )
    await deps.inflight.wait_idle(timeout=5)
    view: dict[str, Any] = fake_slack.views[fake_slack.view_stack("ULEAD")[-1]]
    assert view["callback_id"] == FindingsView.REVIEW
    return view


async def post_findings(slack: SignedSlack, fake_slack: FakeSlack, deps: Deps) -> dict[str, Any]:
    """Review: rename theme 1, drop theme 3; preview; post with the default poll."""
    review = await open_review(slack, fake_slack, deps)
    answer = await slack.view_submission(
        "ULEAD",
        review,
        {
            "theme.1.label": {"theme.1.label.input": "Priorities change without a why"},
            "theme.3.keep": {"theme.3.keep.input": {"type": "checkboxes", "selected_options": []}},
            "reflect.next": {"reflect.next.input": "Ask Finance to our planning."},
        },
    )
    assert answer.json is not None
    assert answer.json["response_action"] == "push"  # Back returns to the review
    preview = fake_slack.views[fake_slack.view_stack("ULEAD")[-1]]
    assert preview["callback_id"] == FindingsView.PREVIEW
    posted = await slack.view_submission("ULEAD", preview, {})
    assert posted.status == 200
    await deps.inflight.wait_idle(timeout=5)
    [message] = fake_slack.messages_in("CSQUAD")
    return message


async def vote(
    slack: SignedSlack,
    deps: Deps,
    fake_slack: FakeSlack,
    user: str,
    theme_index: int,
    *,
    remove: bool = False,
    message: dict[str, Any] | None = None,
) -> str:
    message = message or fake_slack.messages_in("CSQUAD")[0]
    action = FindingsAction.UNVOTE if remove else FindingsAction.VOTE
    buttons = [
        element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == action
    ]
    answer = await slack.block_action(
        user,
        action,
        value=buttons[theme_index]["value"],
        message=message,
        channel_id="CSQUAD",
        block_id=None,
    )
    assert answer.status == 200
    await deps.inflight.wait_idle(timeout=5)
    said: str = slack.fake.responses[-1]["body"]["text"]
    return said


async def themes_of(sessions: async_sessionmaker[AsyncSession], source: ThemeSource) -> list[Theme]:
    """The tour's suggested or final themes, in their order."""
    async with sessions() as session:
        found = await session.scalars(
            select(Theme).where(Theme.source == source).order_by(Theme.position)
        )
        return list(found.all())


# --- step 3: outcomes asked for and committed ----------------------------------------------------
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
    team: list[str],
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
    team: list[str],
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


async def outcomes_committed(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    """The poll closed, the shapers proposed five outcomes on two themes, the leader committed
    two (one rewritten) and #squad heard; checked on the way, as the step-3 test."""
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


# --- step 4: initiatives proposed, committed, offered --------------------------------------------
def top_view(fake: FakeSlack, user_id: str) -> Json:
    view: Json = fake.views[fake.view_stack(user_id)[-1]]
    return view


def card_for(fake: FakeSlack, title: str) -> Json:
    return next(m for m in fake.messages_in("CSQUAD") if title in rendered(m))


def button_value(message: Json, action_id: str) -> str:
    [button] = buttons(message, action_id)
    return str(button["value"])


async def outcome_ids(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions() as session:
        return list((await session.scalars(select(Outcome.id).order_by(Outcome.theme_id))).all())


async def propose(
    slack: SignedSlack,
    fake: FakeSlack,
    deps: Deps,
    *,
    proposer: str,
    how: str,
    outcome_id: int,
    title: str,
    owner: str | None,
    implications: str = "We'll tell partners first, before they ask.",
) -> Any:
    if how == "command":
        answer = await slack.slash_command(proposer, "initiative", channel_id="CSQUAD")
        assert answer.status == 200
    else:
        announcement = next(
            m for m in fake.messages_in("CSQUAD") if buttons(m, InitiativeAction.PROPOSE)
        )
        await slack.block_action(
            proposer,
            InitiativeAction.PROPOSE,
            value=button_value(announcement, InitiativeAction.PROPOSE),
            message=announcement,
            channel_id="CSQUAD",
        )
    await deps.inflight.wait_idle(timeout=5)
    form = top_view(fake, proposer)
    assert form["callback_id"] == InitiativeView.PROPOSE
    values: Json = {
        "initiative.outcome": {
            "initiative.outcome.input": {
                "type": "static_select",
                "selected_option": {"value": str(outcome_id)},
            }
        },
        "initiative.title": {"initiative.title.input": title},
        "initiative.implications": {"initiative.implications.input": implications},
        "initiative.tracking": {"initiative.tracking.input": "Count of partner escalations"},
        "initiative.quick_win": {"initiative.quick_win.input": "A first alert this week"},
    }
    if owner:
        values["initiative.suggested_owner"] = {
            "initiative.suggested_owner.input": {"type": "users_select", "selected_user": owner}
        }
    answer = await slack.view_submission(proposer, form, values)
    await deps.inflight.wait_idle(timeout=5)
    return answer


async def open_commit(slack: SignedSlack, fake: FakeSlack, deps: Deps, title: str) -> Json:
    card = card_for(fake, title)
    await slack.block_action(
        "ULEAD",
        InitiativeAction.COMMIT,
        value=button_value(card, InitiativeAction.COMMIT),
        message=card,
        channel_id="CSQUAD",
    )
    await deps.inflight.wait_idle(timeout=5)
    view = top_view(fake, "ULEAD")
    assert view["callback_id"] == InitiativeView.COMMIT
    return view


def commit_values(owner: str, due: str, *, weeks: int = 1, title: str | None = None) -> Json:
    values: Json = {
        "initiative.owner": {
            "initiative.owner.input": {"type": "users_select", "selected_user": owner}
        },
        "initiative.due": {"initiative.due.input": {"type": "datepicker", "selected_date": due}},
        "initiative.cadence": {
            "initiative.cadence.input": {
                "type": "radio_buttons",
                "selected_option": {"value": str(weeks)},
            }
        },
    }
    if title is not None:
        values["initiative.title"] = {"initiative.title.input": title}
    return values


def offer_to(fake: FakeSlack, owner: str) -> Json:
    return next(m for m in reversed(fake.dms_to(owner)) if buttons(m, InitiativeAction.ACCEPT))


async def click(slack: SignedSlack, deps: Deps, user_id: str, action: str, message: Json) -> None:
    await slack.block_action(
        user_id,
        action,
        value=button_value(message, action),
        message=message,
        channel_id=message["channel"],
    )
    await deps.inflight.wait_idle(timeout=5)


async def initiative_proposed(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
    *,
    title: str = "Slip alerts",
) -> list[int]:
    """Step 3 done (`outcomes_committed`), then UT04 proposes `title` for the first outcome with
    its announcement's button, suggesting no owner, and the card reaches #squad. Returns the
    committed outcomes' ids, in their themes' order: the initiative is under the first."""
    await outcomes_committed(slack, fake_slack, deps, clock, sessions, team)
    outcomes = await outcome_ids(sessions)
    await propose(
        slack,
        fake_slack,
        deps,
        proposer="UT04",
        how="button",
        outcome_id=outcomes[0],
        title=title,
        owner=None,
    )
    await drain_outbox(deps, clock)
    return outcomes


# --- step 4: owners' check-ins, run by the tick --------------------------------------------------
OWNERS = {
    "UTOKYO": "Asia/Tokyo",
    "UBERLIN": "Europe/Berlin",
    "UNEWYORK": "America/New_York",
}

# Monday 9 March, 10:00 on each owner's clock.
LOCAL_TEN = {
    "UTOKYO": datetime(2026, 3, 9, 1, 0, tzinfo=UTC),
    "UBERLIN": datetime(2026, 3, 9, 9, 0, tzinfo=UTC),
    "UNEWYORK": datetime(2026, 3, 9, 14, 0, tzinfo=UTC),  # EDT since Sunday
}

FRIDAY_UPDATE = datetime(2026, 3, 13, 14, 0, tzinfo=UTC)  # 15:00 in Berlin, the leader's zone

THEME = "Releases slip without warning"


async def offered_initiatives(
    sessions: async_sessionmaker[AsyncSession], *, weekday: int = 0
) -> dict[str, int]:
    """A closed tour whose outcome has one initiative offered to each owner."""
    async with sessions.begin() as session:
        tour = await stored_tour(
            session,
            opened_at=START - timedelta(days=20),
            closes_at=START - timedelta(days=10),
            closed_at=START - timedelta(days=10),
            team_id="T00000001",
            title="Spring listening",
            channel_id="CSQUAD",
            leader_tz="Europe/Berlin",
            questions=["q"],
            invitees=[*OWNERS, "UMEMBER"],
        )
        for participant in await session.scalars(select(Participant)):
            participant.responded = True
        [theme_id] = await final_themes(session, tour, [THEME], answer_count=5)
        outcome = await committed_outcome(session, tour, theme_id)
        ids = {}
        for owner in OWNERS:
            initiative = Initiative(
                tour_id=tour.id,
                outcome_id=outcome.id,
                title=f"Initiative of {owner}",
                implications="We tell partners first",
                tracking="Escalations",
                proposer_id="UMEMBER",
                status=InitiativeStatus.OFFERED,
                owner_id=owner,
                due_date=date(2026, 5, 29),
                cadence_weeks=1,
                checkin_weekday=weekday,
                created_at=START,
                committed_at=START,
            )
            session.add(initiative)
            await session.flush()
            ids[owner] = initiative.id
    return ids


async def tick_through(
    deps: Deps, clock: FrozenClock, start: datetime, end: datetime, *, every: timedelta
) -> None:
    """Time passing: the tick at `start` and every `every` after it, before `end`, the clock
    set to each; no tick may fail."""
    at = start
    while at < end:
        clock.set(at)
        report = await run_tick(deps)
        assert report.failed == []
        at += every


async def tick_at(deps: Deps, clock: FrozenClock, at: datetime) -> dict[str, int]:
    clock.set(at)
    report = await run_tick(deps)
    for _ in range(5):  # the outbox paces one message a second per channel
        if await deps.delivery.next_wakeup() is None:
            break
        clock.advance(seconds=1)
        await deps.delivery.deliver_due()
    clock.set(at)
    assert report.failed == []
    return report.counts


def checkins_to(fake: FakeSlack, user_id: str) -> list[Json]:
    return [m for m in fake.dms_to(user_id) if "check-in" in str(m.get("text")).lower()]


async def accepted(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    *,
    weekday: int = 0,
) -> dict[str, int]:
    ids = await offered_initiatives(sessions, weekday=weekday)
    for owner, initiative_id in ids.items():
        await slack.block_action(
            owner,
            InitiativeAction.ACCEPT,
            value=str(initiative_id),
            channel_id=fake_slack.dm_channel_id(owner),
        )
        await deps.inflight.wait_idle(timeout=5)
    return ids


Json = dict[str, Any]


# --- moderation: hiding an answer ----------------------------------------------------------------
REASON = "It names a colleague; could you say it without the name?"


async def open_hide_modal(slack: SignedSlack, fake: FakeSlack, deps: Deps) -> dict[str, Any]:
    """From the leader's review: See all answers, then Hide an answer…"""
    review = await open_review(slack, fake, deps)
    await slack.block_action("ULEAD", FindingsAction.SEE_ANSWERS, view=review)
    await deps.inflight.wait_idle(timeout=5)
    answers_page = top_view(fake, "ULEAD")
    await slack.block_action("ULEAD", ModerationAction.OPEN, view=answers_page)
    await deps.inflight.wait_idle(timeout=5)
    modal = top_view(fake, "ULEAD")
    assert modal["callback_id"] == ModerationView.HIDE
    return modal


def hide_values(answer_id: str, reason: str = REASON) -> dict[str, Any]:
    return {
        ModerationBlock.ANSWER: {
            f"{ModerationBlock.ANSWER}.input": {
                "type": "static_select",
                "selected_option": {"value": answer_id},
            }
        },
        ModerationBlock.REASON: {f"{ModerationBlock.REASON}.input": reason},
    }


async def a_quoted_answer(sessions: async_sessionmaker[AsyncSession]) -> tuple[str, str]:
    """(id, text) of an answer the leader's review quotes."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(Answer.id, Answer.text)
                .join(ThemeQuote, ThemeQuote.answer_id == Answer.id)
                .join(Theme, Theme.id == ThemeQuote.theme_id)
                .where(Theme.source == ThemeSource.SUGGESTED)
                .order_by(Theme.position, ThemeQuote.position)
            )
        ).first()
    assert row is not None
    return row[0], row[1]


# --- the leader's `/partner tour …` controls -----------------------------------------------------
async def command(
    slack: SignedSlack, deps: Deps, clock: FrozenClock, user_id: str, text: str
) -> str:
    """Type `/partner tour …`; returns what the bot answered, only to them."""
    before = len(slack.fake.responses)
    typed = await slack.slash_command(user_id, f"tour {text}", channel_id="CTEAM")
    assert typed.status == 200
    await deps.inflight.wait_idle(timeout=10)
    await drain_outbox(deps, clock)
    assert len(slack.fake.responses) == before + 1, "no answer to the command"
    said: str = slack.fake.responses[-1]["body"]["text"]
    return said


# --- against a running `partnerbot run` child process --------------------------------------------
LEADER, CHANNEL = "ULEAD", "CCRASH"  # a tour launched against a running `partnerbot run`


async def launch_tour(slack: SignedSlack, fake: FakeSlack) -> None:
    """The leader types `/partner tour #crash` and submits the launch modal as prefilled."""
    command = await slack.slash_command(LEADER, f"tour <#{CHANNEL}|crash>", channel_id=CHANNEL)
    assert command.status == 200, command.text
    await fake.wait_for(lambda: bool(fake.view_stack(LEADER)), timeout=30)
    view = fake.views[fake.view_stack(LEADER)[-1]]
    answer = await slack.view_submission(LEADER, view, {})
    assert answer.status == 200, answer.text
    assert answer.json is None, answer.json  # no validation errors: the modal closes
    assert not answer.problems
