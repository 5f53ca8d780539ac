"""The leader's controls over an open tour, end to end: `/partner tour cancel`, `extend <date>`
and `co-lead @someone`. Leaders (and co-leaders, and admins) only; each member told once."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FrozenClock
from bot.deps import Deps
from bot.models import Answer, OutboxMessage, Participant, Tour, TourKey, TourStatus
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from tests.journeys import command, launch, platform_team, reply, the_tour


def told(fake: FakeSlack, user_id: str, words: str) -> int:
    return sum(1 for message in fake.dms_to(user_id) if words in str(message.get("text")))


@pytest.fixture
def team(fake_slack: FakeSlack) -> list[str]:
    """#platform-team's 25 people rather than the handlers' #squad."""
    return platform_team(fake_slack)


async def test_only_leaders_use_the_controls(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:5])
    tour = await the_tour(sessions)
    for text in (
        f"cancel {tour.id}",
        f"extend 2026-03-12 {tour.id}",
        f"co-lead <@UM009> {tour.id}",
    ):
        said = await command(slack, deps, clock, "UM002", text)
        assert "Only <@ULEAD>" in said, text
    # Without a number, someone who leads nothing is told so rather than acting on any tour.
    assert "don't lead an open" in await command(slack, deps, clock, "UM002", "cancel")
    async with sessions() as session:
        kept = await session.get(Tour, tour.id)
        assert kept is not None
        assert kept.status is TourStatus.OPEN
        assert kept.close_date == date(2026, 3, 9)
    assert told(fake_slack, "UM009", "co-leader") == 0


async def test_extend_and_shorten_tell_each_member_once(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:5])
    assert "people asked are told once" in await command(
        slack, deps, clock, "ULEAD", "extend 2026-03-12"
    )
    # The same date again changes nothing and tells nobody again.
    assert "already closes" in await command(slack, deps, clock, "ULEAD", "extend 2026-03-12")
    assert "passed" in await command(slack, deps, clock, "ULEAD", "extend 2020-01-01")
    for member in team[:5]:
        assert told(fake_slack, member, "now closes") == 1
    tour = await the_tour(sessions)
    assert tour.close_date == date(2026, 3, 12)
    assert tour.closes_at.date() == date(2026, 3, 12)
    # Shortening is the same control: each member hears of the new date once more.
    await command(slack, deps, clock, "ULEAD", "extend 2026-03-10")
    for member in team[:5]:
        assert told(fake_slack, member, "now closes") == 2
    assert (await the_tour(sessions)).close_date == date(2026, 3, 10)


async def test_a_co_leader_cancels_and_nothing_but_the_counts_is_kept(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    team: list[str],
) -> None:
    await launch(slack, fake_slack, deps, users=team[:5])
    for member in team[:2]:
        await reply(slack, deps, clock, member, f"words of {member}")
    said = await command(slack, deps, clock, "ULEAD", "co-lead <@UM010>")
    assert "now co-leads" in said
    assert told(fake_slack, "UM010", "co-leader") == 1
    assert "already leads" in await command(slack, deps, clock, "ULEAD", "co-lead <@UM010>")
    assert told(fake_slack, "UM010", "co-leader") == 1

    # The co-leader has the leader's rights: they cancel it.
    assert "is cancelled" in await command(slack, deps, clock, "UM010", "cancel")
    assert "not open any more" in await command(
        slack, deps, clock, "ULEAD", f"cancel {(await the_tour(sessions)).id}"
    )
    for member in team[:5]:
        assert told(fake_slack, member, "has been cancelled") == 1
    tour = await the_tour(sessions)
    assert (tour.status, tour.asked_count, tour.answered_count) == (TourStatus.CANCELLED, 5, 2)
    card = json.dumps(fake_slack.home_views["ULEAD"], ensure_ascii=False)
    assert "2 of 5 answered \u00b7 cancelled on" in card
    async with sessions() as session:
        for model in (Answer, Participant, TourKey):
            assert await session.scalar(select(func.count()).select_from(model)) == 0, model
        # Reminders still waiting for the members are not sent any more.
        waiting = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.idempotency_key.like(f"tour:{tour.id}:remind%"))
        )
        assert waiting == 0
