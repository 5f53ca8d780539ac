"""Fixtures of the reliability suite: seeded teams on top of the end-to-end fixtures in
tests/conftest.py (fake Slack, the app serving over HTTP, signed requests)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FrozenClock
from bot.sandbox.fake_slack import FakeSlack
from tests.reliability.helpers import TEAM_A, TEAM_B, Seeded, add_people, seed_team


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
