"""A property-based fuzz (Hypothesis) of what a signed request can carry: slash command text,
block actions (every action id in bot/blocks/*.py, with values that are ids, pairs of ids,
negative or large numbers, JSON, unicode or nothing) and view submissions (every callback id,
with random private_metadata and random input state), sent by the seeded people of two teams
whose rows share one database, so ids often name rows of the other team.

Properties, for every request: no 5xx; the error handler never logs an "unhandled error"; the
other team's rows are exactly as they were; no row of one team points at a row of the other;
and a `/partner win` that is stored is stored as typed.

The classes of input that failed when this suite was written (non-ASCII digits such as "²",
ids past 64 bits, a datepicker value that is no date, a click from someone not in the channel)
are pinned by the regression tests at the end of this file."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks import escape
from bot.blocks.checkins import CheckinAction, CheckinBlock, CheckinView
from bot.blocks.findings import FindingsAction, FindingsBlock, FindingsView
from bot.blocks.initiatives import MAX_WIN, InitiativeAction, InitiativeBlock, InitiativeView
from bot.blocks.outcomes import OutcomeAction, OutcomeBlock, OutcomeView
from bot.blocks.tour import TourAction, TourView
from bot.deps import Deps
from bot.flows.checkins import CheckinStatus
from bot.flows.tour import MAX_QUESTIONS, LaunchBlock, question_block
from bot.models import QuickWin
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import Delivery, SignedSlack
from tests.reliability.catalog import action_cases, view_cases
from tests.reliability.helpers import (
    PEOPLE,
    TEAM_A,
    TEAM_B,
    Seeded,
    action_payload,
    as_team,
    by_team,
    changes,
    cross_team_links,
    figure,
    send,
    snapshot,
    unhandled,
    view_payload,
)

EXAMPLES = 60
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run of `make test`; vary with a new seed
    database=None,  # nothing written to .hypothesis/ in the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
INT64 = 2**63

# --- strategies ---------------------------------------------------------------------------------

ids = st.integers(min_value=0, max_value=8)  # the seeded rows' ids, and a few past them
texts = st.text(max_size=60)
numbers_as_text = st.one_of(
    ids.map(str),
    st.integers(min_value=-(10**6), max_value=-1).map(str),
    st.integers(min_value=31, max_value=INT64 - 1).map(str),
    st.integers(min_value=INT64, max_value=10**30).map(str),
    st.sampled_from(["²", "1:²", "³", "١٢", "𝟙", "0x10", "1e3", " 1", "1 ", "+1", "1.0", "007"]),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), ids, st.integers(), st.floats(allow_nan=False), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=6,
)
button_values = st.one_of(
    numbers_as_text,
    st.tuples(ids, ids).map(lambda pair: f"{pair[0]}:{pair[1]}"),
    st.tuples(numbers_as_text, numbers_as_text).map(lambda pair: ":".join(pair)),
    st.just(""),
    texts,
    st.builds(
        lambda tour, theme, text: json.dumps({"tour": tour, "theme": theme, "text": text}),
        st.one_of(ids, texts, st.none()),
        st.one_of(ids, texts),
        texts,
    ),
    json_values.map(json.dumps),
)

ACTION_IDS = sorted(
    {
        member.value
        for enum in (TourAction, FindingsAction, OutcomeAction, InitiativeAction, CheckinAction)
        for member in enum
    }
    | {f"{CheckinAction.STATUS}.{status}" for status in CheckinStatus}
    | {f"{CheckinAction.STATUS}.nope", f"{LaunchBlock.RESULTS}.input"}
)
action_ids = st.one_of(
    st.sampled_from(ACTION_IDS),
    ids.map(lambda n: f"{OutcomeAction.PICK_THEME}.{n}"),
    ids.map(lambda n: f"{InitiativeAction.COMMIT}.{n}"),
)

CALLBACK_IDS = sorted(
    {
        member.value
        for enum in (TourView, FindingsView, OutcomeView, InitiativeView, CheckinView)
        for member in enum
    }
)
METADATA_KEYS = [
    "tour_id",
    "poll_id",
    "checkin_id",
    "initiative_id",
    "theme_id",
    "proposal_id",
    "mode",
    "outcomes",
    "page",
    "leader_tz",
    "channel",
    "ts",
]
metadata = st.one_of(
    st.dictionaries(
        st.sampled_from(METADATA_KEYS),
        st.one_of(
            ids,
            st.integers(min_value=-(10**9), max_value=INT64 - 1),
            numbers_as_text,
            st.sampled_from(["edit", "add", "Europe/Berlin", "Nowhere/Else", ""]),
            st.lists(ids, max_size=3),
            st.none(),
            st.floats(allow_nan=False),
            texts,
        ),
        max_size=4,
    ).map(json.dumps),
    texts,
)

BLOCK_IDS = sorted(
    {
        member.value
        for enum in (FindingsBlock, OutcomeBlock, InitiativeBlock, CheckinBlock, LaunchBlock)
        for member in enum
    }
    | {question_block(i) for i in range(MAX_QUESTIONS)}
    | {f"answer.{i}" for i in range(1, MAX_QUESTIONS + 1)}
    | {f"theme.{i}.{part}" for i in (1, 2, 3) for part in ("label", "summary", "order", "keep")}
    | {
        f"outcome.{n}.{part}"
        for n in range(1, 5)
        for part in ("statement", "partner", "measure", "target")
    }
)
# Slack sends only real dates from a datepicker; the fuzz does too (see the regression below).
dates = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)).map(date.isoformat)
people = st.one_of(st.sampled_from([*PEOPLE, "UNOBODY", "UPARTNERBOT"]), texts)
elements = st.one_of(
    texts.map(lambda v: {"type": "plain_text_input", "value": v}),
    numbers_as_text.map(lambda v: {"type": "number_input", "value": v}),
    button_values.map(lambda v: {"type": "static_select", "selected_option": {"value": v}}),
    st.just({"type": "static_select", "selected_option": None}),
    button_values.map(lambda v: {"type": "radio_buttons", "selected_option": {"value": v}}),
    st.lists(button_values, max_size=3).map(
        lambda vs: {"type": "checkboxes", "selected_options": [{"value": v} for v in vs]}
    ),
    st.one_of(dates, st.none()).map(lambda d: {"type": "datepicker", "selected_date": d}),
    people.map(lambda u: {"type": "users_select", "selected_user": u}),
    st.lists(people, max_size=3).map(
        lambda us: {"type": "multi_users_select", "selected_users": us}
    ),
    st.sampled_from(["CTEAM", "CBRAVO", "CNOPE", ""]).map(
        lambda c: {"type": "conversations_select", "selected_conversation": c}
    ),
)
states = st.dictionaries(
    st.sampled_from(BLOCK_IDS),
    elements.map(lambda element: {"fuzz.input": element}),
    max_size=8,
)
teams = st.sampled_from([TEAM_A, TEAM_B])
users = st.sampled_from(PEOPLE)
commands = st.tuples(
    st.sampled_from(["", "win ", "WIN ", "tour ", "initiative ", "help ", "frobnicate "]),
    st.text(max_size=80).filter(lambda t: "\r" not in t),
)


# --- the properties -----------------------------------------------------------------------------


class Tally:
    def __init__(self) -> None:
        self.requests = 0
        self.statuses: dict[int, int] = {}
        self.changed_own = 0

    def note(self, answer: Delivery, changed_own: bool) -> None:
        self.requests += 1
        self.statuses[answer.status] = self.statuses.get(answer.status, 0) + 1
        self.changed_own += changed_own


async def check(
    slack: SignedSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
    tally: Tally,
    *,
    team: str,
    payload: dict[str, Any],
    kind: str = "interactive",
) -> dict[str, Any]:
    """Send one request from `team`; assert the properties that hold for any request. Returns
    what changed in the sending team's own rows."""
    other = TEAM_B if team == TEAM_A else TEAM_A
    before = by_team(await snapshot(sessions))
    caplog.clear()
    answer = await slack.deliver(kind, as_team(payload, team))  # type: ignore[arg-type]
    assert await deps.inflight.wait_idle(timeout=10)
    await deps.coalescer.flush()
    errors = unhandled(caplog.records)
    assert answer.status < 500, answer.text[:200]
    assert errors == [], [repr(e.exc_info[1]) for e in errors if e.exc_info]
    after = by_team(await snapshot(sessions))
    assert changes(before.get(other, {}), after.get(other, {})) == {}
    assert await cross_team_links(sessions) == {}
    own = changes(before.get(team, {}), after.get(team, {}))
    tally.note(answer, bool(own))
    return own


@pytest.fixture
def tally() -> Tally:
    return Tally()


# Half the requests start from a real button of one of the two teams (see catalog.py), whose
# value is kept or replaced; so real rows and real flows are reached, by their own team and by
# the other one.
from_catalog = st.one_of(st.none(), st.tuples(st.booleans(), st.integers(0, 10_000), st.booleans()))


@FUZZ
@given(
    action_id=action_ids,
    value=button_values,
    team=teams,
    user=users,
    channel=st.booleans(),
    real=from_catalog,
)
async def test_fuzzed_button_clicks(
    slack: SignedSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    team_b: Seeded,
    caplog: pytest.LogCaptureFixture,
    tally: Tally,
    action_id: str,
    value: str,
    team: str,
    user: str,
    channel: bool,
    real: tuple[bool, int, bool] | None,
) -> None:
    if real is not None:
        of_a, index, keep_value = real
        cases = action_cases(team_a if of_a else team_b)
        case = cases[index % len(cases)]
        action_id, user = case.action_id, case.user
        value = case.value or "" if keep_value else value
    payload = action_payload(
        slack, user, action_id, value, channel_id="CTEAM" if channel else "CBRAVO"
    )
    if action_id == f"{LaunchBlock.RESULTS}.input":
        payload["actions"][0]["selected_conversation"] = value
    with caplog.at_level(logging.INFO, logger="bot.errors"):
        await check(slack, deps, sessions, caplog, tally, team=team, payload=payload)
    if tally.requests == EXAMPLES:
        figure(
            "fuzz: button clicks",
            requests=tally.requests,
            fivexx=0,
            unhandled_errors=0,
            other_team_rows_changed=0,
            own_team_changes=tally.changed_own,
            http=dict(sorted(tally.statuses.items())),
        )


@FUZZ
@given(
    callback_id=st.sampled_from(CALLBACK_IDS),
    meta=metadata,
    state=states,
    team=teams,
    user=users,
    real=from_catalog,
    mix=st.booleans(),
)
async def test_fuzzed_modal_submissions(
    slack: SignedSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    team_b: Seeded,
    caplog: pytest.LogCaptureFixture,
    tally: Tally,
    callback_id: str,
    meta: str,
    state: dict[str, Any],
    team: str,
    user: str,
    real: tuple[bool, int, bool] | None,
    mix: bool,
) -> None:
    if real is not None:  # a real form: its metadata kept or not, its inputs mixed with noise
        of_a, index, keep_metadata = real
        cases = view_cases(team_a if of_a else team_b)
        case = cases[index % len(cases)]
        callback_id, user = case.member.value, case.user
        meta = case.metadata if keep_metadata else meta
        state = {**case.values, **state} if mix else case.values
    payload = view_payload(
        slack, user, callback_id=callback_id, private_metadata=meta, values=state
    )
    with caplog.at_level(logging.INFO, logger="bot.errors"):
        await check(slack, deps, sessions, caplog, tally, team=team, payload=payload)
    if tally.requests == EXAMPLES:
        figure(
            "fuzz: modal submissions",
            requests=tally.requests,
            fivexx=0,
            unhandled_errors=0,
            other_team_rows_changed=0,
            own_team_changes=tally.changed_own,
            http=dict(sorted(tally.statuses.items())),
        )


@FUZZ
@given(command=commands, team=teams, user=users)
async def test_fuzzed_slash_commands(
    slack: SignedSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    team_b: Seeded,
    caplog: pytest.LogCaptureFixture,
    tally: Tally,
    command: tuple[str, str],
    team: str,
    user: str,
) -> None:
    """Typed text, escaped as Slack sends it. Only a win may be stored, and only as typed."""
    prefix, typed = command
    fields = slack.payloads.slash_command(user, prefix + escape(typed), channel_id="CTEAM")
    with caplog.at_level(logging.INFO, logger="bot.errors"):
        changed = await check(
            slack, deps, sessions, caplog, tally, team=team, payload=fields, kind="slash_commands"
        )
    assert set(changed) <= {"quick_wins"}
    at = [c.name for c in QuickWin.__table__.columns].index("text")
    added = [row[at] for row in changed.get("quick_wins", {}).get("added", [])]
    if added:
        want = typed.replace("\x00", "").strip()
        assert prefix.strip().lower() == "win"
        assert added == [want]
        assert 0 < len(want) <= MAX_WIN
    if tally.requests == EXAMPLES:
        figure(
            "fuzz: slash commands",
            requests=tally.requests,
            fivexx=0,
            unhandled_errors=0,
            other_team_rows_changed=0,
            wins_stored_as_typed=tally.changed_own,
            http=dict(sorted(tally.statuses.items())),
        )


# --- regressions: what failed when this suite was written ------------------------------------


# str.isdigit() is true for superscripts such as "²", which int() refuses; and an id past
# 2**63-1 overflows SQLite's INTEGER (PostgreSQL's bigint). Either was an "unhandled error"
# instead of "I can't find that … any more", from button values (number_from_value and the
# same isdigit-then-int pattern in every handler) and from private_metadata read by pydantic.
@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        (TourAction.EXPORT.value, "²"),
        (FindingsAction.VOTE.value, "1:²"),
        (InitiativeAction.ACCEPT.value, "³"),
        (CheckinAction.SNOOZE.value, "²"),
        (TourAction.CLOSE.value, str(INT64)),
        (FindingsAction.VOTE.value, f"{INT64}:1"),
        (OutcomeAction.EDIT_PROPOSAL.value, str(10**20)),
        (CheckinAction.STOP.value, str(10**30)),
    ],
)
async def test_a_button_value_that_is_no_id_is_refused_not_crashed(
    slack: SignedSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
    action_id: str,
    value: str,
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.errors"):
        answer = await send(slack, action_payload(slack, "ULEAD", action_id, value))
        assert await deps.inflight.wait_idle(timeout=10)
    assert answer.status == 200
    assert unhandled(caplog.records) == []


@pytest.mark.parametrize(
    ("callback_id", "meta"),
    [
        (TourView.ANSWERS.value, {"tour_id": INT64, "mode": "edit"}),
        (CheckinView.ANSWER.value, {"checkin_id": 10**20}),
        (InitiativeView.DECLINE.value, {"initiative_id": -(INT64 + 1)}),
    ],
)
async def test_private_metadata_with_an_id_past_64_bits_is_refused_not_crashed(
    slack: SignedSlack,
    deps: Deps,
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
    callback_id: str,
    meta: dict[str, Any],
) -> None:
    payload = view_payload(
        slack,
        "UALICE",
        callback_id=callback_id,
        private_metadata=json.dumps(meta),
        values={
            "answer.1": {"i": {"type": "plain_text_input", "value": "x"}},
            CheckinBlock.STATUS: {
                "i": {"type": "radio_buttons", "selected_option": {"value": "on_track"}}
            },
            InitiativeBlock.REASON: {"i": {"type": "plain_text_input", "value": "no"}},
        },
    )
    with caplog.at_level(logging.INFO, logger="bot.errors"):
        answer = await send(slack, payload)
        assert await deps.inflight.wait_idle(timeout=10)
    assert answer.status == 200
    assert unhandled(caplog.records) == []


# bot/handlers/findings.py handle_post_findings and outcomes.py read_commitments called
# date.fromisoformat on the datepicker's value unguarded (Slack's datepicker sends only dates).
@pytest.mark.parametrize("callback_id", [FindingsView.PREVIEW.value, OutcomeView.COMMIT.value])
async def test_a_date_input_that_is_no_date_is_answered_not_crashed(
    slack: SignedSlack,
    deps: Deps,
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
    callback_id: str,
) -> None:
    [case] = [c for c in view_cases(team_a) if c.member.value == callback_id]
    values = {
        **case.values,
        "poll.closes_on": {"i": {"type": "datepicker", "selected_date": "2026-02-30"}},
        f"outcome.{team_a.open_theme}.target": {
            "i": {"type": "datepicker", "selected_date": "2026-02-30"}
        },
    }
    payload = view_payload(
        slack, case.user, callback_id=callback_id, private_metadata=case.metadata, values=values
    )
    with caplog.at_level(logging.INFO, logger="bot.errors"):
        answer = await send(slack, payload)
        assert await deps.inflight.wait_idle(timeout=10)
    assert answer.status == 200
    assert unhandled(caplog.records) == []


# bot/handlers/tour.py notice() answered with chat.postEphemeral in the clicked message's channel;
# someone previewing a public channel they have not joined got user_not_in_channel instead.
async def test_a_click_by_someone_not_in_the_channel_is_answered_not_crashed(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.add_user("UVISITOR", "visitor", tz="UTC")  # not a member of the team channel
    payload = action_payload(
        slack, "UVISITOR", FindingsAction.CLOSE_POLL.value, str(team_a.poll), channel_id="CTEAM"
    )
    with caplog.at_level(logging.INFO, logger="bot.errors"):
        answer = await send(slack, payload)
        assert await deps.inflight.wait_idle(timeout=10)
    assert answer.status == 200
    assert unhandled(caplog.records) == []
