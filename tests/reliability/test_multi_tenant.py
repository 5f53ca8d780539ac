"""Two Slack teams in one database (issue #7, "Multi-tenant"): every button and modal that takes
an id from the request is sent from team B carrying team A's ids — pressed by the very user ids
that hold the right to them in team A, so only the team id tells them apart — and must be refused
and change nothing. Mixed requests (team B's own tour or poll, team A's theme, proposal or
outcome inside it) must not stitch rows of two teams together. DMs, slash commands, the App
Home and thread replies from a third team see and store nothing of either.

The cases are enumerated from the action and view enums in bot/blocks/*.py (see catalog.py), so
a new button or modal fails `test_every_action_and_view_id_is_exercised` until it is listed."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.blocks.findings import FindingsAction, FindingsView
from bot.blocks.initiatives import InitiativeBlock, InitiativeView
from bot.blocks.outcomes import OutcomeAction, OutcomeBlock, OutcomeView
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import Delivery, SignedSlack
from tests.conftest import empty_tables
from tests.reliability.catalog import Case, action_cases, click, submission, uncovered, view_cases
from tests.reliability.helpers import (
    TEAM_A,
    TEAM_B,
    TEAM_C,
    Seeded,
    action_payload,
    as_team,
    changes,
    cross_team_links,
    figure,
    mark_of,
    said_since,
    seed_team,
    send,
    send_command,
    send_event,
    settle,
    snapshot,
    unhandled,
    view_payload,
    without_replies,
)


def test_every_action_and_view_id_is_exercised(team_a: Seeded) -> None:
    assert uncovered(team_a) == []


async def test_team_b_carrying_team_a_ids_is_refused_and_changes_nothing(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    team_b: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    requests: list[tuple[str, dict[str, Any]]] = [
        (case.label, click(slack, case, team=TEAM_B, channel=team_a.channel))
        for case in action_cases(team_a)
    ] + [(case.label, submission(slack, case, team=TEAM_B)) for case in view_cases(team_a)]
    before = await snapshot(sessions)
    mark = mark_of(fake_slack)
    problems: list[str] = []
    statuses: dict[int, int] = {}
    with caplog.at_level(logging.INFO, logger="bot.errors"):
        for label, payload in requests:
            answer = await send(slack, payload)
            await settle(deps)
            statuses[answer.status] = statuses.get(answer.status, 0) + 1
            changed = changes(before, await snapshot(sessions))
            if changed:
                problems.append(f"{label} changed {json.dumps(changed, default=str)}")
                before = await snapshot(sessions)
            if answer.status >= 500 or team_a.marker in answer.text:
                problems.append(f"{label}: HTTP {answer.status} {answer.text[:200]}")
    leaked = team_a.marker in said_since(fake_slack, mark)
    errors = unhandled(caplog.records)
    figure(
        "multi-tenant team B with team A's ids",
        requests=len(requests),
        refused=len(requests) - len(problems),
        changed=len(problems),
        leaked=int(leaked),
        unhandled_errors=len(errors),
        http=dict(sorted(statuses.items())),
    )
    assert problems == []
    assert not leaked, "team A's text reached someone through a team B request"
    assert await cross_team_links(sessions) == {}
    assert errors == []


def mixed_cases(a: Seeded, b: Seeded) -> list[tuple[str, str, str | None, str, Any]]:
    """(label, user, action_id or None for a view, value or callback_id, metadata/values):
    team B's own container with one of team A's ids inside."""
    vote = f"{b.poll}:{a.decided_theme}"
    return [
        ("vote on A's theme in B's poll", "UBOB", FindingsAction.VOTE, vote, None),
        ("unvote A's theme in B's poll", "UBOB", FindingsAction.UNVOTE, vote, None),
        (
            "propose for A's theme under B's tour",
            "UALICE",
            OutcomeAction.PROPOSE,
            f"{b.closed_tour}:{a.open_theme}",
            None,
        ),
        (
            "pick A's theme for B's tour",
            "UALICE",
            f"{OutcomeAction.PICK_THEME}.{a.open_theme}",
            json.dumps({"tour": b.closed_tour, "theme": a.open_theme, "text": "mixed"}),
            None,
        ),
        (
            "proposal form: B's tour, A's theme",
            "UALICE",
            None,
            OutcomeView.PROPOSE,
            (
                {"tour_id": b.closed_tour, "theme_id": a.open_theme},
                {
                    OutcomeBlock.PROPOSAL_STATEMENT: {
                        "i": {"type": "plain_text_input", "value": "x y z"}
                    },
                    OutcomeBlock.PROPOSAL_MEASURE: {
                        "i": {"type": "plain_text_input", "value": "weekly"}
                    },
                },
            ),
        ),
        (
            "proposal form: B's tour, A's proposal",
            "UALICE",
            None,
            OutcomeView.PROPOSE,
            (
                {"tour_id": b.closed_tour, "theme_id": b.open_theme, "proposal_id": a.proposal},
                {
                    OutcomeBlock.PROPOSAL_STATEMENT: {
                        "i": {"type": "plain_text_input", "value": "x y z"}
                    },
                    OutcomeBlock.PROPOSAL_MEASURE: {
                        "i": {"type": "plain_text_input", "value": "weekly"}
                    },
                },
            ),
        ),
        (
            "outcome setup: B's tour, A's theme",
            "ULEAD",
            None,
            OutcomeView.SETUP,
            (
                {"tour_id": b.closed_tour},
                {
                    OutcomeBlock.SHAPERS: {
                        "i": {"type": "multi_users_select", "selected_users": ["UBOB"]}
                    },
                    OutcomeBlock.THEMES: {
                        "i": {
                            "type": "checkboxes",
                            "selected_options": [{"value": str(a.open_theme)}],
                        }
                    },
                },
            ),
        ),
        (
            "commit outcomes: B's tour, A's theme's inputs",
            "ULEAD",
            None,
            OutcomeView.COMMIT,
            (
                {"tour_id": b.closed_tour},
                {
                    f"outcome.{a.open_theme}.statement": {
                        "i": {"type": "plain_text_input", "value": "Sales sees the roadmap"}
                    },
                    f"outcome.{a.open_theme}.partner": {
                        "i": {"type": "plain_text_input", "value": "Sales"}
                    },
                    f"outcome.{a.open_theme}.measure": {
                        "i": {"type": "plain_text_input", "value": "monthly"}
                    },
                    f"outcome.{a.open_theme}.target": {
                        "i": {"type": "datepicker", "selected_date": "2026-09-30"}
                    },
                },
            ),
        ),
        (
            "initiative form offering A's outcome",
            "UBOB",
            None,
            InitiativeView.PROPOSE,
            (
                {"outcomes": [a.outcome, b.outcome]},
                {
                    InitiativeBlock.OUTCOME: {
                        "i": {"type": "static_select", "selected_option": {"value": str(a.outcome)}}
                    },
                    InitiativeBlock.TITLE: {"i": {"type": "plain_text_input", "value": "Mixed"}},
                    InitiativeBlock.IMPLICATIONS: {
                        "i": {"type": "plain_text_input", "value": "Partners hear first"}
                    },
                    InitiativeBlock.TRACKING: {"i": {"type": "plain_text_input", "value": "Esc"}},
                },
            ),
        ),
        (
            "insight on B's poll under A's theme",
            "UBOB",
            None,
            FindingsView.INSIGHT,
            (
                {"poll_id": b.poll},
                {
                    "insight.text": {"i": {"type": "plain_text_input", "value": "mixed insight"}},
                    "insight.theme": {
                        "i": {
                            "type": "static_select",
                            "selected_option": {"value": str(a.decided_theme)},
                        }
                    },
                },
            ),
        ),
    ]


# `ask_shapers` refuses themes that are not the tour's; the form says so next to the input.
SETUP_FOREIGN = "outcome setup: B's tour, A's theme"


async def test_team_b_rows_never_point_at_team_a_rows(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    team_b: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    problems: list[str] = []
    errors_by_case: dict[str, int] = {}
    stored = 0
    for label, user, action_id, what, extra in mixed_cases(team_a, team_b):
        before = await snapshot(sessions)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="bot.errors"):
            if action_id is not None:
                payload = action_payload(
                    slack, user, str(action_id), str(what), channel_id="CBRAVO"
                )
            else:
                metadata, values = extra
                payload = view_payload(
                    slack,
                    user,
                    callback_id=str(what),
                    private_metadata=json.dumps(metadata),
                    values=values,
                )
            answer: Delivery = await send(slack, as_team(payload, TEAM_B))
            await settle(deps)
        errors_by_case[label] = len(unhandled(caplog.records))
        changed = changes(before, await snapshot(sessions))
        removed = {name: rows["removed"] for name, rows in changed.items() if rows["removed"]}
        added_to = {name for name, rows in changed.items() if rows["added"]}
        stored += sum(len(rows["added"]) for rows in changed.values())
        if answer.status >= 500 or removed or not added_to <= {"insights"}:
            problems.append(f"{label}: HTTP {answer.status}, changed {changed}")
    links = await cross_team_links(sessions)
    figure(
        "multi-tenant mixed ids",
        requests=len(errors_by_case),
        rows_stored=stored,
        cross_team_links=sum(links.values()),
        unhandled_errors=sum(errors_by_case.values()),
    )
    assert problems == []
    assert links == {}
    assert {label for label, count in errors_by_case.items() if count} == set()


async def test_outcome_setup_with_foreign_themes_is_answered_not_crashed(
    slack: SignedSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    team_b: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    [(_, user, _, callback_id, (metadata, values))] = [
        case for case in mixed_cases(team_a, team_b) if case[0] == SETUP_FOREIGN
    ]
    payload = view_payload(
        slack,
        user,
        callback_id=str(callback_id),
        private_metadata=json.dumps(metadata),
        values=values,
    )
    with caplog.at_level(logging.INFO, logger="bot.errors"):
        answer = await send(slack, as_team(payload, TEAM_B))
        await settle(deps)
    assert answer.status == 200
    assert unhandled(caplog.records) == []
    assert answer.json is not None
    assert answer.json.get("response_action") == "errors"


async def test_a_third_team_sees_and_stores_nothing_of_either(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    team_b: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """DMs (tour answers, check-in replies, outcome proposals), slash commands, the App Home
    and thread replies under a findings post all look people up by team: the same people, in a
    team that owns nothing, get nothing and leave nothing."""
    payloads = slack.payloads
    requests: list[tuple[str, str, dict[str, Any]]] = []
    for user in ("ULEAD", "UALICE", "UBOB", "UCAROL"):
        for typed in ("my answer", "on track, 50%", "help", "skip"):
            requests.append(("dm", user, payloads.event_callback(payloads.dm_event(user, typed))))
        requests.append(
            ("home", user, payloads.event_callback(payloads.app_home_opened_event(user)))
        )
        for command in ("win shipped the alerts", "win", "initiative", "help", "tour"):
            requests.append(("command", user, dict(payloads.slash_command(user, command))))
    thread_reply = {
        "type": "message",
        "channel": team_a.channel,
        "channel_type": "channel",
        "user": "UBOB",
        "text": "an insight in A's findings thread",
        "ts": fake_slack.next_ts(),
        "thread_ts": team_a.poll_ts,
        "team": fake_slack.team_id,
    }
    requests.append(("thread", "UBOB", payloads.event_callback(thread_reply)))

    before = await snapshot(sessions)
    mark = mark_of(fake_slack)
    statuses: dict[int, int] = {}
    with caplog.at_level(logging.INFO, logger="bot.errors"):
        for kind, _user, payload in requests:
            moved = as_team(payload, TEAM_C)
            if kind == "command":
                answer = await send_command(slack, moved)
            else:
                answer = await send_event(slack, moved)
            statuses[answer.status] = statuses.get(answer.status, 0) + 1
            assert team_a.marker not in answer.text
            assert team_b.marker not in answer.text
            await settle(deps)
    shown = said_since(fake_slack, mark)
    changed = without_replies(changes(before, await snapshot(sessions)))
    figure(
        "multi-tenant third team",
        requests=len(requests),
        rows_changed=sum(len(r["added"]) + len(r["removed"]) for r in changed.values()),
        leaked=int(team_a.marker in shown or team_b.marker in shown),
        unhandled_errors=len(unhandled(caplog.records)),
        http=dict(sorted(statuses.items())),
    )
    assert changed == {}
    assert team_a.marker not in shown
    assert team_b.marker not in shown
    assert unhandled(caplog.records) == []
    assert set(statuses) == {200}


def test_as_team_moves_every_team_id(slack: SignedSlack) -> None:
    moved = json.dumps(
        [
            as_team(action_payload(slack, "UBOB", "x", "1"), TEAM_B),
            as_team(
                view_payload(slack, "UBOB", callback_id="x", private_metadata="", values={}), TEAM_B
            ),
            as_team(slack.payloads.event_callback(slack.payloads.dm_event("UBOB", "hi")), TEAM_B),
            as_team(slack.payloads.slash_command("UBOB", "help"), TEAM_B),
        ]
    )
    assert slack.fake.team_id not in moved


def reaction(fake: FakeSlack, mark: tuple[int, int], answer: Delivery) -> str:
    """What the person saw, without the ids that differ between any two requests."""
    noise = {"trigger_id", "view_id", "ts", "hash", "private_metadata", "team_id"}
    calls = [
        (call.method, {k: v for k, v in call.args.items() if k not in noise})
        for call in fake.calls[mark[0] :]
    ]
    responses = [r["body"] for r in fake.responses[mark[1] :]]
    return json.dumps([calls, responses, answer.json or answer.text], sort_keys=True, default=str)


async def test_control_the_same_requests_from_team_a_reach_its_rows(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    engine: AsyncEngine,
    database_url: str,
    team_a: Seeded,
) -> None:
    """The refusals above prove something only if the same payloads, from the team that owns
    the ids, do reach those rows: each then changes a row, shows team A's text, or at least
    answers differently from the refusal team B gets (a state the row is in: "already closed",
    a form to fill in). Every case gets a freshly seeded journey, so one case's effect (a close,
    an accept) cannot hide the next."""
    count = len(action_cases(team_a)) + len(view_cases(team_a))
    unreached = []
    fresh, seeds = team_a, 1
    for index in range(count):
        actions = action_cases(fresh)
        is_view = index >= len(actions)
        case = view_cases(fresh)[index - len(actions)] if is_view else actions[index]

        async def answer_from(
            team: str, case: Case = case, channel: str = fresh.channel, is_view: bool = is_view
        ) -> str:
            mark = mark_of(fake_slack)
            payload = (
                submission(slack, case, team=team)
                if is_view
                else click(slack, case, team=team, channel=channel)
            )
            answer = await send(slack, payload)
            await settle(deps)
            return reaction(fake_slack, mark, answer)

        before = await snapshot(sessions)
        seen = await answer_from(TEAM_A)
        if changes(before, await snapshot(sessions)):
            # Reached, and changed: the next case starts from a fresh journey again.
            await empty_tables(engine, database_url)
            fresh = await seed_team(
                sessions,
                team_id=TEAM_A,
                marker="ALPHA",
                channel="CTEAM",
                now=clock.now(),
                fake=fake_slack,
            )
            seeds += 1
            continue
        if fresh.marker in seen:
            continue
        if seen == await answer_from(TEAM_B):
            unreached.append(case.label)
    figure(
        "multi-tenant control (team A's own requests)",
        requests=count,
        reached=count - len(unreached),
        journeys_seeded=seeds,
    )
    assert unreached == []
