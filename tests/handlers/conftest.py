"""The people the end-to-end journeys of tests/journeys.py run with: `team`, the 15-person
#squad a tour, its findings, outcomes and initiatives go through, and `squad`, the check-in
owners in three time zones. A module that needs other people overrides `team` (test_tour.py's
25-person #platform-team, `journeys.platform_team`)."""

from __future__ import annotations

import pytest

from bot.sandbox.fake_slack import FakeSlack
from tests.journeys import NAMES, OWNERS, TEAM


@pytest.fixture
def team(fake_slack: FakeSlack) -> list[str]:
    for user_id, n in zip(TEAM, range(len(TEAM)), strict=True):
        name = NAMES[n % len(NAMES)]
        fake_slack.add_user(user_id, name.lower(), real_name=f"{name} {n}", tz="Europe/Berlin")
    fake_slack.add_channel("CSQUAD", "squad", members=["ULEAD", *TEAM])
    fake_slack.add_user("UOUTSIDER", "outsider", tz="UTC")
    return TEAM


@pytest.fixture
def squad(fake_slack: FakeSlack) -> list[str]:
    for user_id, tz in OWNERS.items():
        fake_slack.add_user(user_id, user_id.lower(), real_name=user_id.title(), tz=tz)
    fake_slack.add_user("UMEMBER", "member", real_name="Mo Member", tz="Europe/Berlin")
    fake_slack.add_channel("CSQUAD", "squad", members=["ULEAD", *OWNERS, "UMEMBER"])
    return list(OWNERS)
