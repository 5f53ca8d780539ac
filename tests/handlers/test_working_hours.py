"""Working hours end to end: a tour launched from Berlin reaches each member in their own
window, nothing goes out on a weekend, and the leader gets one DM when the tour closes. The
tour runs with the default window (Mon-Fri 09:00-18:00); the clock is stepped hour by hour."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FrozenClock
from bot.deps import Deps
from bot.flows.tour import LaunchBlock
from bot.models import OutboxMessage, Tour
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.scheduler import run_tick
from bot.settings import Settings, load_settings
from tests.conftest import SIGNING_SECRET
from tests.journeys import launch, launch_values, open_launch_modal, rendered

# Friday 11 December 2026, 09:00 in Berlin.
LAUNCH = datetime(2026, 12, 11, 8, 0, tzinfo=UTC)
MEMBERS = {
    "ULA": "America/Los_Angeles",
    "USAO": "America/Sao_Paulo",
    "ULON": "Europe/London",
    "UTYO": "Asia/Tokyo",
}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(LAUNCH)


@pytest.fixture
def settings(clean_env: Path, fake_slack: FakeSlack, database_url: str) -> Settings:
    """The operator's defaults: DMs in working hours, Monday to Friday 09:00-18:00."""
    return load_settings(
        slack_bot_token=fake_slack.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=database_url,
    )


@pytest.fixture
def world(fake_slack: FakeSlack) -> dict[str, str]:
    for user_id, tz in MEMBERS.items():
        fake_slack.add_user(user_id, user_id.lower(), tz=tz)
    return MEMBERS


def local(message: dict[str, Any], tz: str) -> datetime:
    """When Slack says a message was posted, on the recipient's clock."""
    return datetime.fromtimestamp(float(message["ts"]), ZoneInfo(tz))


def hours(start: datetime, end: datetime) -> Iterator[datetime]:
    at = start
    while at <= end:
        yield at
        at += timedelta(hours=1)


async def test_a_tour_from_berlin_reaches_everyone_in_their_own_working_hours(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    world: dict[str, str],
) -> None:
    await launch(slack, fake_slack, deps, users=tuple(world), close_date="2026-12-14")

    # 09:00 in Berlin is 17:00 in Tokyo: asked at once. Everyone else is still before 09:00.
    assert [m["dm_user"] for m in fake_slack.messages if m["dm_user"] in world] == ["UTYO"]
    [confirmation] = fake_slack.dms_to("ULEAD")
    assert "1 now, 3 today at 09:00 their time" in rendered(confirmation)
    async with sessions() as session:
        tour = await session.scalar(select(Tour))
        assert tour is not None
        assert (tour.work_start_minute, tour.work_end_minute, tour.work_days) == (
            540,
            1080,
            "01234",
        )

    # Hour by hour to Tuesday noon: through the weekend, reminders and the close (Monday 23:59
    # in Berlin), with nobody answering.
    for at in hours(LAUNCH + timedelta(hours=1), datetime(2026, 12, 15, 12, 0, tzinfo=UTC)):
        clock.set(at)
        report = await run_tick(deps)
        assert report.failed == []

    for user_id, tz in world.items():
        invitation, *later = fake_slack.dms_to(user_id)
        asked = local(invitation, tz)
        assert asked.date().isoformat() == "2026-12-11"  # Friday, on their own calendar
        if user_id == "UTYO":
            assert asked.time() == time(17, 0)
        else:
            assert asked.time() == time(9, 0)  # the moment their window opens
        # Saturday's reminder waits for Monday, where it is the one reminder due.
        [reminder] = later
        assert "A gentle nudge" in rendered(reminder)
        reminded = local(reminder, tz)
        assert reminded.weekday() == 0
        assert time(9) <= reminded.time() < time(18)

    # Nothing at all was sent on a Saturday or a Sunday, on the recipient's clock.
    for message in fake_slack.messages:
        tz = world.get(message["dm_user"], "Europe/Berlin")
        assert local(message, tz).weekday() < 5, message

    # One DM to the leader when the tour closed, in their morning (not at midnight).
    confirmation_again, closed = fake_slack.dms_to("ULEAD")
    assert confirmation_again == confirmation
    assert "has closed: 0 of 4 answered" in rendered(closed)
    assert local(closed, "Europe/Berlin") == datetime(
        2026, 12, 15, 9, 0, tzinfo=ZoneInfo("Europe/Berlin")
    )
    async with sessions() as session:
        waiting = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.status == "pending")
        )
    assert waiting is None


async def test_the_leader_sets_the_tours_own_working_hours_in_the_launch_form(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    world: dict[str, str],
) -> None:
    # A typo is refused inline, and nothing is stored.
    view = await open_launch_modal(slack, fake_slack)
    answer = await slack.view_submission(
        "ULEAD",
        view,
        launch_values(users=tuple(world), close_date="2026-12-14", working_hours="weekdays 9-5"),
    )
    assert "Mon-Fri 09:00-18:00" in answer.json["errors"][LaunchBlock.WORKING_HOURS]
    async with sessions() as session:
        assert await session.scalar(select(Tour)) is None

    await launch(
        slack,
        fake_slack,
        deps,
        users=tuple(world),
        close_date="2026-12-14",
        working_hours="Mon-Fri 12:00-14:00",
    )
    async with sessions() as session:
        tour = await session.scalar(select(Tour))
        assert tour is not None
        assert (tour.work_start_minute, tour.work_end_minute, tour.work_days) == (
            720,
            840,
            "01234",
        )
    for at in hours(LAUNCH + timedelta(hours=1), datetime(2026, 12, 11, 23, 0, tzinfo=UTC)):
        clock.set(at)
        await run_tick(deps)
    # London at noon, its own window; Tokyo (17:00 at launch) waits for Monday noon.
    [invitation] = fake_slack.dms_to("ULON")
    assert local(invitation, "Europe/London").time() == time(12, 0)
    assert fake_slack.dms_to("UTYO") == []


async def test_a_member_on_vacation_at_launch_is_invited_when_back(
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    clock: FrozenClock,
    world: dict[str, str],
) -> None:
    # Tokyo is on vacation until Tuesday 15 December, 00:00 UTC (09:00 there).
    back = datetime(2026, 12, 15, 0, 0, tzinfo=UTC)
    fake_slack.set_status(
        "UTYO", emoji=":palm_tree:", text="Vacationing", expiration=int(back.timestamp())
    )
    await launch(slack, fake_slack, deps, users=("UTYO", "ULON"), close_date="2026-12-18")
    [confirmation] = fake_slack.dms_to("ULEAD")
    assert "1 today at 09:00 their time, 1 Tuesday at 09:00 their time" in rendered(confirmation)

    for at in hours(LAUNCH + timedelta(hours=1), back):
        clock.set(at)
        await run_tick(deps)
    [invitation] = fake_slack.dms_to("UTYO")
    assert local(invitation, "Asia/Tokyo") == datetime(
        2026, 12, 15, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo")
    )
