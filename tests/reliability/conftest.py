"""Fixtures of the reliability suite: seeded teams on top of the end-to-end fixtures in
tests/conftest.py (fake Slack, the app serving over HTTP, signed requests)."""

from __future__ import annotations

import pytest
from slack_bolt.async_app import AsyncApp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_app
from bot.clock import FrozenClock
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from tests.reliability.helpers import TEAM_A, TEAM_B, TEAM_C, Seeded, add_people, seed_team


@pytest.fixture
def bolt_app(deps: Deps) -> AsyncApp:
    """The app as a multi-workspace install would run it: it answers the other teams of these
    tests too, so what keeps their rows apart is each handler's query by team, not the
    single-workspace gate in front of them (tests/test_workspace_gate.py tests the gate)."""
    return build_app(deps, also_admit=frozenset({TEAM_B, TEAM_C}))


@pytest.fixture
async def team_a(
    fake_slack: FakeSlack, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> Seeded:
    """The workspace the bot is installed in, seeded with a journey through all four steps."""
    add_people(fake_slack, channels=["CTEAM"])
    return await seed_team(
        sessions, team_id=TEAM_A, marker="ALPHA", channel="CTEAM", now=clock.now(), fake=fake_slack
    )


@pytest.fixture
async def team_b(
    team_a: Seeded,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> Seeded:
    """A second workspace in the same database, with the same people's ids in the same roles
    (the strongest case: only the team id tells the two apart)."""
    add_people(fake_slack, channels=["CBRAVO"])
    return await seed_team(
        sessions, team_id=TEAM_B, marker="BRAVO", channel="CBRAVO", now=clock.now(), fake=fake_slack
    )
