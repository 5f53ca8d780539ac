"""Single-workspace mode refuses other workspaces: the bot's one token belongs to the workspace
Slack's auth.test names, and a correctly signed request claiming any other team (every button
and modal of a seeded journey, a slash command, a DM, the App Home) is answered 200 with an empty
body, calls Slack for nothing, changes no row and is logged once.

The rest of the reliability suite runs the app as a multi-workspace install would (see
conftest.py); this module runs it as `partnerbot run` does."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_app
from bot.deps import Deps
from bot.handlers.middleware import admitted, claimed_teams
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from tests.reliability.catalog import action_cases, click, submission, view_cases
from tests.reliability.helpers import (
    TEAM_A,
    TEAM_B,
    Seeded,
    as_team,
    changes,
    mark_of,
    send,
    send_command,
    send_event,
    settle,
    snapshot,
)

REFUSED = "request from another workspace refused"


@pytest.fixture
def bolt_app(deps: Deps) -> AsyncApp:
    """The app as `partnerbot run` builds it: no other team admitted."""
    return build_app(deps)


async def launch_modal(slack: SignedSlack, fake: FakeSlack, deps: Deps) -> dict[str, Any]:
    """The leader of the installed team types `/partner tour #team`: the launch modal, filled
    in, whose submission starts a tour and DMs the team."""
    answer = await slack.slash_command("ULEAD", "tour <#CTEAM|team>", channel_id="CTEAM")
    assert answer.status == 200, answer.text
    await settle(deps)
    view: dict[str, Any] = fake.views[fake.view_stack("ULEAD")[-1]]
    return view


def requests_from(
    slack: SignedSlack, team_a: Seeded, team: str, launch: dict[str, Any]
) -> list[tuple[str, Any]]:
    """Everything people of team A can do, sent as `team`: (kind, payload)."""
    payloads = slack.payloads
    sent: list[tuple[str, Any]] = [
        ("interactive", as_team(payloads.view_submission("ULEAD", launch, {}), team))
    ]
    sent += [
        ("interactive", click(slack, case, team=team, channel=team_a.channel))
        for case in action_cases(team_a)
    ]
    sent += [("interactive", submission(slack, case, team=team)) for case in view_cases(team_a)]
    for user in ("ULEAD", "UALICE"):
        for text in ("tour", "win shipped it", "help", "initiative"):
            sent.append(("slash_commands", as_team(payloads.slash_command(user, text), team)))
        sent.append(
            ("events_api", as_team(payloads.event_callback(payloads.dm_event(user, "hi")), team))
        )
        home = payloads.event_callback(payloads.app_home_opened_event(user))
        sent.append(("events_api", as_team(home, team)))
    return sent


async def deliver(slack: SignedSlack, kind: str, payload: Any) -> Any:
    if kind == "slash_commands":
        return await send_command(slack, payload)
    if kind == "events_api":
        return await send_event(slack, payload)
    return await send(slack, payload)


async def test_a_signed_request_from_another_team_changes_and_calls_nothing(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The bot has served its own workspace (and so knows, from auth.test, which one it is).
    launch = await launch_modal(slack, fake_slack, deps)
    sent = requests_from(slack, team_a, TEAM_B, launch)
    before = await snapshot(sessions)
    mark = mark_of(fake_slack)
    with caplog.at_level(logging.INFO):
        caplog.clear()
        for kind, payload in sent:
            answer = await deliver(slack, kind, payload)
            assert (answer.status, answer.text) == (200, ""), (kind, answer.text[:200])
        await settle(deps)
    assert [(c.method, c.args) for c in fake_slack.calls[mark[0] :]] == []
    assert fake_slack.responses[mark[1] :] == []
    assert changes(before, await snapshot(sessions)) == {}
    refusals = [r for r in caplog.records if r.getMessage() == REFUSED]
    assert len(refusals) == len(sent)
    assert all(TEAM_B in r.__dict__["request_team"] for r in refusals)


async def test_the_same_requests_from_the_installed_team_do_reach_it(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
) -> None:
    """The control: what the gate refuses above is work the bot does for its own team,
    starting with the tour the launch modal starts."""
    launch = await launch_modal(slack, fake_slack, deps)
    before = await snapshot(sessions)
    mark = mark_of(fake_slack)
    for kind, payload in requests_from(slack, team_a, TEAM_A, launch):
        assert (await deliver(slack, kind, payload)).status == 200
        await settle(deps)
    assert fake_slack.calls[mark[0] :]
    changed = changes(before, await snapshot(sessions))
    assert len(changed["tours"]["added"]) > len(changed["tours"]["removed"])  # a new tour


async def test_a_refused_first_request_asks_slack_only_who_the_bot_is(
    slack: SignedSlack, fake_slack: FakeSlack, deps: Deps, team_a: Seeded
) -> None:
    """Before its first request the bot does not know its workspace: it asks auth.test with
    its own token (once per process) and nothing else."""
    mark = mark_of(fake_slack)
    answer = await send(slack, submission(slack, view_cases(team_a)[0], team=TEAM_B))
    await settle(deps)
    assert (answer.status, answer.text) == (200, "")
    assert [call.method for call in fake_slack.calls[mark[0] :]] == ["auth.test"]


INSTALLED = AuthorizeResult(enterprise_id=None, team_id="T1")
IN_GRID = AuthorizeResult(enterprise_id="E1", team_id="T1")
ORG_WIDE = AuthorizeResult(enterprise_id="E1", team_id=None)


@pytest.mark.parametrize(
    ("installed", "team_id", "enterprise_id", "also", "expected"),
    [
        (INSTALLED, "T1", None, frozenset(), True),  # its own workspace
        (INSTALLED, "T2", None, frozenset(), False),  # another workspace
        (INSTALLED, None, None, frozenset(), False),  # no team at all
        (INSTALLED, "T2", None, frozenset({"T2"}), True),  # admitted as a multi-workspace test
        (IN_GRID, "T1", "E1", frozenset(), True),  # its workspace, inside its grid
        (IN_GRID, "T1", "E2", frozenset(), False),  # the same team id claimed in another grid
        (IN_GRID, "T2", "E1", frozenset(), False),  # another workspace of the same grid
        (ORG_WIDE, "T7", "E1", frozenset(), True),  # an org-wide install: any team of its grid
        (ORG_WIDE, "T7", "E2", frozenset(), False),  # ... but not of another grid
        (ORG_WIDE, "T7", None, frozenset(), False),  # ... nor a team outside any grid
        (None, "T1", None, frozenset(), False),  # auth.test never answered
    ],
)
def test_which_requests_the_installed_workspace_admits(
    installed: AuthorizeResult | None,
    team_id: str | None,
    enterprise_id: str | None,
    also: frozenset[str],
    expected: bool,
) -> None:
    assert admitted(installed, team_id=team_id, enterprise_id=enterprise_id, also=also) is expected


def test_every_team_a_request_names_is_checked() -> None:
    """Bolt takes a modal's `app_installed_team_id` for the request's team: a submission that
    names the installed team there and another team everywhere else is still another team's."""
    body = {
        "team": {"id": "T2"},
        "user": {"id": "U1", "team_id": "T2"},
        "view": {"team_id": "T2", "app_installed_team_id": "T1"},
    }
    assert claimed_teams(body) == {"T1", "T2"}
    event = {"team_id": "T1", "event": {"type": "message", "team": "T3", "user_team": "T4"}}
    assert claimed_teams(event) == {"T1", "T3", "T4"}
