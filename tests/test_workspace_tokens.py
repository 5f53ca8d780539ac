"""Several workspaces, each with its own bot token (issue #19): every Slack call the bot makes —
a listener's, the outbox's, the launch's directory lookups — carries the token of the team it is
about, as the fake Slack records; a rate limit in one workspace holds up only that workspace; a
workspace no token speaks for waits; and a request that forges another team's id sees nothing
of that team.

The tokens come from a `TokenSource` of the test's own (`MappedTokens`), the seam an OAuth
install plugs its installations into; the fake Slack holds the three workspaces."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.blocks.tour import TourAction, TourView
from bot.clock import FrozenClock
from bot.delivery import NO_TOKEN
from bot.deps import Deps, build_deps
from bot.models import OutboxMessage, OutboxStatus, Tour
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.settings import Settings
from tests.factories import queued_dms
from tests.journeys import launch_values
from tests.reliability.helpers import (
    as_team,
    changes,
    mark_of,
    said_since,
    send,
    send_command,
    send_event,
    settle,
    snapshot,
    view_payload,
)

TEAM_A = "T00000001"  # the fake's default team (its fixture's people: ULEAD, UALICE, UBOB)
TEAM_B = "T0BRAVO00"
TEAM_C = "T0CHARLIE"
TOKEN_B = "xoxb-bravo-token"
TOKEN_C = "xoxb-charlie-token"


@dataclass(frozen=True)
class Workspace:
    team_id: str
    marker: str  # in the tour's title, to spot it anywhere it should not be
    leader: str
    members: tuple[str, ...]
    channel: str


class MappedTokens:
    """A `TokenSource` over a dict (None or absent: not installed), counting what it is asked."""

    def __init__(self, tokens: dict[str, str | None]) -> None:
        self.tokens = tokens
        self.forgotten: list[str] = []

    async def bot_token(self, team_id: str, enterprise_id: str | None = None) -> str | None:
        return self.tokens.get(team_id)

    def forget(self, team_id: str) -> None:
        self.forgotten.append(team_id)

    async def note_workspace(self, team_id: str, enterprise_id: str) -> None:
        return None


@pytest.fixture
def workspaces(fake_slack: FakeSlack) -> dict[str, Workspace]:
    """Team A is the fake's default team and its fixture's people; B and C are installed too,
    each with a leader, three members and a team channel of its own."""
    fake_slack.add_user("UCAROL", "carol", tz="Asia/Tokyo")
    found = {TEAM_A: Workspace(TEAM_A, "FALCON", "ULEAD", ("UALICE", "UBOB", "UCAROL"), "CTEAM")}
    for team_id, name, token, letter, marker in (
        (TEAM_B, "Bravo", TOKEN_B, "B", "HERON"),
        (TEAM_C, "Charlie", TOKEN_C, "C", "OSPREY"),
    ):
        fake_slack.add_team(team_id, name, bot_token=token)
        leader = f"U{letter}LEAD"
        members = tuple(f"U{letter}MEMBER{n}" for n in range(1, 4))
        fake_slack.add_user(leader, f"{name.lower()}-lead", tz="Europe/Berlin", team=team_id)
        for member in members:
            fake_slack.add_user(member, member.lower(), team=team_id)
        channel = f"C{letter}TEAM"
        fake_slack.add_channel(
            channel, f"{name.lower()}-team", members=[leader, *members], team=team_id
        )
        found[team_id] = Workspace(team_id, marker, leader, members, channel)
    return found


@pytest.fixture
def tokens(fake_slack: FakeSlack, workspaces: dict[str, Workspace]) -> MappedTokens:
    return MappedTokens({TEAM_A: fake_slack.bot_token, TEAM_B: TOKEN_B, TEAM_C: TOKEN_C})


@pytest.fixture
async def deps(
    settings: Settings, engine: AsyncEngine, clock: FrozenClock, tokens: MappedTokens
) -> AsyncIterator[Deps]:
    deps = build_deps(settings, clock=clock, tokens=tokens)
    yield deps
    await deps.close()


async def launch_in(slack: SignedSlack, fake: FakeSlack, deps: Deps, workspace: Workspace) -> None:
    """The workspace's leader types `/partner tour` in its channel and submits the modal."""
    answer = await slack.slash_command(workspace.leader, "tour", channel_id=workspace.channel)
    assert answer.status == 200, answer.text
    await fake.wait_for(lambda: bool(fake.view_stack(workspace.leader)))
    view = fake.views[fake.view_stack(workspace.leader)[-1]]
    values = launch_values(
        users=workspace.members,
        results=workspace.channel,
        anonymous=False,
        title=f"{workspace.marker} listening tour",
    )
    submitted = await slack.view_submission(workspace.leader, view, values)
    assert submitted.status == 200, submitted.text
    assert submitted.problems == []


async def tours_by_team(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Tour]:
    async with sessions() as session:
        return {tour.team_id: tour for tour in await session.scalars(select(Tour))}


def texts_to(fake: FakeSlack, user_ids: Iterable[str]) -> str:
    wanted = set(user_ids)
    return json.dumps([m for m in fake.messages if m["dm_user"] in wanted], ensure_ascii=False)


@pytest.fixture
async def launched(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    workspaces: dict[str, Workspace],
) -> dict[str, Workspace]:
    """The three leaders launch a tour each at the same time; the invitations are sent."""
    await asyncio.gather(
        *(launch_in(slack, fake_slack, deps, workspace) for workspace in workspaces.values())
    )
    await settle(deps)
    await deps.delivery.deliver_due()
    return workspaces


# --- (a) every call with its own team's token ------------------------------------------------


async def test_three_workspaces_launching_at_once_each_use_their_own_token(
    launched: dict[str, Workspace],
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tours = await tours_by_team(sessions)

    assert sorted(tours) == sorted(launched)
    for team_id, workspace in launched.items():
        tour = tours[team_id]
        assert (tour.leader_id, tour.title) == (
            workspace.leader,
            f"{workspace.marker} listening tour",
        )
        for member in workspace.members:  # each invited, in their own workspace
            [invitation] = fake_slack.dms_to(member)
            assert invitation["team"] == team_id
        others = [w.marker for w in launched.values() if w.team_id != team_id]
        seen = texts_to(fake_slack, (workspace.leader, *workspace.members))
        assert workspace.marker in seen
        assert not [marker for marker in others if marker in seen]
    # The fake's record: every call carried a known team's token, none was refused, and none
    # reached into a team its token does not speak for.
    assert fake_slack.cross_team_violations == []
    assert [(c.method, c.error) for c in fake_slack.calls if not c.ok] == []
    used = {(c.team_id, c.method) for c in fake_slack.calls}
    for team_id in launched:
        for method in ("auth.test", "views.open", "users.list", "chat.postMessage"):
            assert (team_id, method) in used, f"no {method} with {team_id}'s token"
    assert {c.team_id for c in fake_slack.calls} == set(launched)


async def test_scheduled_work_asks_each_team_with_its_own_token(
    launched: dict[str, Workspace],
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
) -> None:
    """The tick's reminders read each team's statuses (users.list) with that team's token."""
    from bot.services.working_hours import time_off

    deps.directory = type(deps.directory)()  # nothing cached: every team is asked
    mark = len(fake_slack.calls)
    fake_slack.set_status("UBMEMBER1", emoji=":palm_tree:", text="Vacation")

    away = await time_off(deps, [(w.team_id, w.members[0]) for w in launched.values()])

    assert set(away) == {"UBMEMBER1"}
    listed = [c.team_id for c in fake_slack.calls[mark:] if c.method == "users.list"]
    assert sorted(listed) == sorted(launched)
    assert fake_slack.cross_team_violations == []


# --- (b) a rate limit in one workspace delays only that workspace ------------------------------

FANOUT = 300


async def queue_fanout(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    people: dict[str, list[str]],
    wave: str,
) -> None:
    async with sessions.begin() as session:
        await queued_dms(session, people=people, tag=wave, now=clock.now())


async def unsent_by_team(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.team_id, func.count())
            .where(OutboxMessage.status != OutboxStatus.SENT)
            .group_by(OutboxMessage.team_id)
        )
        return {str(team_id): int(count) for team_id, count in rows.all()}


async def cycles_to_finish(
    deps: Deps, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, teams: list[str]
) -> dict[str, int]:
    """Outbox cycles (a pass, then a second of time) until each team's rows are all sent."""
    finished: dict[str, int] = {}
    for cycle in range(1, 200):
        await deps.delivery.deliver_due()
        unsent = await unsent_by_team(sessions)
        for team_id in teams:
            if team_id not in finished and not unsent.get(team_id):
                finished[team_id] = cycle
        if len(finished) == len(teams):
            return finished
        clock.advance(seconds=1)
    raise AssertionError(f"the outbox never drained: {unsent}")


async def test_429s_in_one_workspace_delay_only_that_workspace(
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    workspaces: dict[str, Workspace],
) -> None:
    people = {
        team_id: [f"UF{team_id[-4:]}{n:03d}" for n in range(FANOUT)] for team_id in workspaces
    }
    for team_id, users in people.items():
        for user in users:
            fake_slack.add_user(user, user.lower(), team=team_id)
    teams = list(people)

    await queue_fanout(sessions, clock, people, "clean")
    clean = await cycles_to_finish(deps, sessions, clock, teams)
    clock.advance(minutes=5)
    fake_slack.inject_faults("chat.postMessage", rate_429=0.3, retry_after=2, seed=3, team=TEAM_B)
    await queue_fanout(sessions, clock, people, "faulty")
    faulty = await cycles_to_finish(deps, sessions, clock, teams)

    limited = [c for c in fake_slack.calls if c.http_status == 429]
    assert limited
    assert {c.team_id for c in limited} == {TEAM_B}
    assert faulty[TEAM_A] == clean[TEAM_A]
    assert faulty[TEAM_C] == clean[TEAM_C]
    assert faulty[TEAM_B] > clean[TEAM_B]
    for team_id, users in people.items():
        assert all(len(fake_slack.dms_to(user)) == 2 for user in users), team_id
        assert all(m["team"] == team_id for user in users for m in fake_slack.dms_to(user))
    assert fake_slack.rate_limit_violations == []
    assert fake_slack.cross_team_violations == []


# --- (c) a request forging another team's id sees nothing of that team ------------------------


def only_team_id(payload: dict[str, Any], team_id: str) -> dict[str, Any]:
    """The request's own team id forged, the acting user's team (and the rest) left as sent."""
    forged = json.loads(json.dumps(payload))
    if "team_id" in forged:  # a slash command, an event envelope
        forged["team_id"] = team_id
    else:  # an interaction
        forged["team"] = {**forged["team"], "id": team_id}
    return forged


def forged_requests(
    slack: SignedSlack, tours: dict[str, Tour], attacker: str, victim: Workspace, *, whole: bool
) -> list[tuple[str, str, dict[str, Any]]]:
    """Requests a user of team A makes carrying the victim team's id and its tour's id, as
    (kind, label, payload): with `whole`, every team field says the victim's team (as if Slack
    sent it from there); else only the request's own team id does."""
    tour_id = tours[victim.team_id].id

    def forge(payload: dict[str, Any]) -> dict[str, Any]:
        return as_team(payload, victim.team_id) if whole else only_team_id(payload, victim.team_id)

    requests: list[tuple[str, str, dict[str, Any]]] = []
    for action in (TourAction.EXPORT, TourAction.CLOSE, TourAction.REMIND, TourAction.ANSWER_FORM):
        payload = slack.payloads.block_actions(
            attacker, action.value, value=str(tour_id), channel_id="CTEAM", block_id="b"
        )
        requests.append(("interactive", action.name, forge(payload)))
    submission = view_payload(
        slack,
        attacker,
        callback_id=TourView.ANSWERS.value,
        private_metadata=json.dumps({"tour_id": tour_id, "mode": "add"}),
        values={"answer.1": {"answer.1.input": {"type": "plain_text_input", "value": "forged"}}},
    )
    requests.append(("interactive", "answers submission", forge(submission)))
    command = slack.payloads.slash_command(
        attacker, f"tour <#{victim.channel}>", channel_id="CTEAM"
    )
    requests.append(("slash_commands", "/partner tour", forge(command)))
    home = slack.payloads.event_callback(slack.payloads.app_home_opened_event(attacker))
    requests.append(("events_api", "app_home_opened", forge(home)))
    return requests


SENDERS = {"interactive": send, "slash_commands": send_command, "events_api": send_event}


@pytest.mark.parametrize("whole", [True, False], ids=["every-team-field", "team-id-only"])
async def test_a_request_forging_another_teams_id_sees_nothing_of_it(
    launched: dict[str, Workspace],
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    whole: bool,
) -> None:
    tours = await tours_by_team(sessions)
    victim = launched[TEAM_B]
    before = await snapshot(sessions)
    mark = mark_of(fake_slack)

    for kind, label, payload in forged_requests(slack, tours, "ULEAD", victim, whole=whole):
        answer = await SENDERS[kind](slack, payload)
        await settle(deps)
        await deps.delivery.deliver_due()
        assert answer.status == 200, (label, answer.text)
        changed = changes(before, await snapshot(sessions))
        # What the bot answers the stranger (a refusal) is queued to him in B's name and
        # refused by Slack; it carries nothing of either tour.
        replies = json.dumps(changed.pop("outbox", {}), default=str)
        assert victim.marker not in replies, label
        assert launched[TEAM_A].marker not in replies, label
        assert changed == {}, label

    said = said_since(fake_slack, mark)
    assert victim.marker not in said  # nothing of B's tour went anywhere
    assert launched[TEAM_A].marker not in said  # nor anything of A's in B's name
    assert victim.marker not in json.dumps(fake_slack.home_views.get("ULEAD") or {})
    calls = fake_slack.calls[mark[0] :]
    # Whatever the bot did in B's name went with B's token, and Slack refused every reach into
    # team A with it (user_not_found, invalid_trigger_id): nothing landed anywhere.
    assert {c.team_id for c in calls} <= {TEAM_B}
    assert [c.method for c in calls if c.ok and c.method != "auth.test"] == []


async def test_control_each_leaders_home_shows_their_own_tour_only(
    launched: dict[str, Workspace],
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
) -> None:
    """The App Home of each workspace's leader, opened in their own workspace, shows their tour
    (so the forged requests above are stopped by the team, not by a broken listener) and
    nothing of the other workspaces', and is published with their workspace's token."""
    for workspace in launched.values():
        mark = len(fake_slack.calls)
        answer = await slack.app_home_opened(workspace.leader)
        await settle(deps)

        assert answer.status == 200
        home = json.dumps(fake_slack.home_views[workspace.leader])
        assert workspace.marker in home
        others = [w.marker for w in launched.values() if w is not workspace]
        assert [marker for marker in others if marker in home] == []
        published = [c for c in fake_slack.calls[mark:] if c.method == "views.publish"]
        assert [(c.team_id, c.ok) for c in published] == [(workspace.team_id, True)]
    assert fake_slack.cross_team_violations == []


# --- (d) a workspace no token speaks for waits ---------------------------------------------------


async def test_a_team_without_a_token_is_held_and_the_others_are_sent(
    fake_slack: FakeSlack,
    deps: Deps,
    tokens: MappedTokens,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    workspaces: dict[str, Workspace],
) -> None:
    tokens.tokens[TEAM_C] = None  # uninstalled: no token speaks for C any more
    people = {team_id: list(w.members) for team_id, w in workspaces.items()}
    await queue_fanout(sessions, clock, people, "wave")

    await deps.delivery.deliver_due()

    assert await unsent_by_team(sessions) == {TEAM_C: 3}
    for team_id in (TEAM_A, TEAM_B):
        assert all(len(fake_slack.dms_to(u)) == 1 for u in people[team_id])
    assert all(fake_slack.dms_to(u) == [] for u in people[TEAM_C])
    assert TEAM_C not in {c.team_id for c in fake_slack.calls}
    assert fake_slack.cross_team_violations == []
    async with sessions() as session:
        held = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.team_id == TEAM_C))
        )
    assert {(row.status, row.last_error) for row in held} == {(OutboxStatus.PENDING, NO_TOKEN)}
    assert all(row.next_attempt_at > clock.now() for row in held)  # waiting, not failed
    assert all(row.attempts == 0 for row in held)

    # Still no token a minute on: still held, and nothing sent with another team's token.
    clock.advance(minutes=2)
    await deps.delivery.deliver_due()
    assert await unsent_by_team(sessions) == {TEAM_C: 3}
    assert TEAM_C not in {c.team_id for c in fake_slack.calls}

    # Re-installed: its messages go, with its own token.
    tokens.tokens[TEAM_C] = TOKEN_C
    clock.advance(minutes=2)
    await deps.delivery.deliver_due()
    assert await unsent_by_team(sessions) == {}
    assert all(m["team"] == TEAM_C for u in people[TEAM_C] for m in fake_slack.dms_to(u))
    assert fake_slack.cross_team_violations == []


async def test_an_uninstall_forgets_that_teams_token_and_caches_only(
    launched: dict[str, Workspace],
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    tokens: MappedTokens,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    for team_id in (TEAM_A, TEAM_C):  # both teams' members are in the directory's cache
        client = await deps.client_for(team_id)
        assert client is not None
        await deps.directory.members(client, team_id=team_id, now=clock.now())
    envelope = slack.payloads.event_callback({"type": "app_uninstalled"})

    answer = await send_event(slack, as_team(envelope, TEAM_C))
    await settle(deps)

    assert answer.status == 200
    assert TEAM_C in tokens.forgotten
    assert TEAM_A not in tokens.forgotten
    assert deps.directory.cached_members(team_id=TEAM_C, now=clock.now()) == {}
    assert deps.directory.cached_members(team_id=TEAM_A, now=clock.now()) != {}
    people = {TEAM_A: ["UALICE"], TEAM_C: [launched[TEAM_C].members[0]]}
    clock.advance(seconds=2)  # past the one-a-second spacing of their DMs
    await queue_fanout(sessions, clock, people, "after")
    await deps.delivery.deliver_due()
    assert await unsent_by_team(sessions) == {TEAM_C: 1}  # C's waits; A's went
