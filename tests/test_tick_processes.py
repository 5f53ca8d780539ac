"""`partnerbot tick --at` as separate processes against one database (PostgreSQL in CI): two at
once send every check-in exactly once, and a tick killed with SIGKILL in the middle of sending
300 check-ins loses none when the next tick runs and repeats none: the sends it had in flight
are looked for in the DMs' history before they are sent again."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FrozenClock
from bot.flows.outcomes import InitiativeStatus
from bot.models import Checkin, Initiative, Outcome, Theme, ThemeSource, Tour, TourStatus
from bot.sandbox.fake_slack import FakeSlack

DUE = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Berlin
OWNERS = [f"UOWNER{n:04d}" for n in range(300)]
# The ticks' concurrent sends (OUTBOX_SEND_SLOTS): fewer than the check-ins, so a kill can land
# part-way through them.
SEND_SLOTS = 128


async def seed(sessions: async_sessionmaker[AsyncSession], fake: FakeSlack) -> None:
    for owner in OWNERS:
        fake.add_user(owner, owner.lower(), tz="Europe/Berlin")
    async with sessions.begin() as session:
        tour = Tour(
            team_id=fake.team_id,
            leader_id="ULEAD",
            title="Tour",
            channel_id=None,  # no weekly update in these tests
            status=TourStatus.CLOSED,
            opens_at=DUE - timedelta(days=30),
            closes_at=DUE - timedelta(days=20),
            created_at=DUE - timedelta(days=30),
            close_date=(DUE - timedelta(days=20)).date(),
        )
        session.add(tour)
        await session.flush()
        theme = Theme(
            tour_id=tour.id,
            source=ThemeSource.FINAL,
            position=0,
            label="Slips",
            summary="",
            kind="challenge",
        )
        session.add(theme)
        await session.flush()
        outcome = Outcome(
            tour_id=tour.id,
            theme_id=theme.id,
            statement="Partners hear first",
            partner="Finance",
            measure="m",
            target_date=date(2026, 6, 30),
            committed_at=DUE,
        )
        session.add(outcome)
        await session.flush()
        await session.execute(
            insert(Initiative),
            [
                {
                    "tour_id": tour.id,
                    "outcome_id": outcome.id,
                    "title": f"Initiative {n}",
                    "implications": "x",
                    "tracking": "y",
                    "proposer_id": "ULEAD",
                    "status": InitiativeStatus.ACCEPTED,
                    "owner_id": owner,
                    "due_date": date(2026, 6, 30),
                    "cadence_weeks": 1,
                    "created_at": DUE - timedelta(days=10),
                    "committed_at": DUE - timedelta(days=10),
                    "next_checkin_at": DUE,
                    "next_period": date(2026, 3, 9),
                    "owner_tz": "Europe/Berlin",
                    "owner_tz_checked_at": DUE,
                }
                for n, owner in enumerate(OWNERS)
            ],
        )


def tick_command(at: datetime) -> list[str]:
    return [sys.executable, "-m", "bot", "tick", "--at", at.isoformat()]


def tick_env(fake: FakeSlack, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNERBOT_"))}
    env.update(
        SLACK_BOT_TOKEN=fake.bot_token,
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
        OUTBOX_SEND_SLOTS=str(SEND_SLOTS),
        WORKING_HOURS="Mon-Sun 00:00-24:00",  # what is due is the test's, not working hours'
    )
    return env


async def run_tick_process(fake: FakeSlack, database_url: str, at: datetime) -> int:
    process = await asyncio.create_subprocess_exec(
        *tick_command(at),
        env=tick_env(fake, database_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    return process.returncode


def deliveries(fake: FakeSlack) -> Counter[str]:
    return Counter(
        str(call.args.get("channel")) for call in fake.calls_to("chat.postMessage") if call.ok
    )


async def test_two_ticks_at_once_send_each_checkin_once(
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    clean_env: object,
) -> None:
    await seed(sessions, fake_slack)
    await asyncio.gather(
        run_tick_process(fake_slack, database_url, DUE),
        run_tick_process(fake_slack, database_url, DUE),
    )
    await run_tick_process(fake_slack, database_url, DUE)  # and once more, the same instant
    sent = deliveries(fake_slack)
    print(f"\n2 concurrent ticks + 1 repeat: {sum(sent.values())} check-ins for 300 owners")
    assert sorted(sent) == sorted(OWNERS)
    assert set(sent.values()) == {1}
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Checkin)) == 300


async def test_a_tick_killed_mid_send_loses_nothing_and_repeats_nothing(
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    clean_env: object,
    clock: FrozenClock,
) -> None:
    # Slack's clock reads the tick's time: the outbox looks for a check-in it may have posted
    # in the DM's history from the time the check-in was queued.
    clock.set(DUE)
    await seed(sessions, fake_slack)
    fake_slack.latency = 0.2  # slow enough to kill the sender part-way through
    process = await asyncio.create_subprocess_exec(
        *tick_command(DUE),
        env=tick_env(fake_slack, database_url),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await fake_slack.wait_for(
        lambda: len(fake_slack.calls_to("chat.postMessage")) >= 100, timeout=60
    )
    process.send_signal(signal.SIGKILL)
    await process.wait()
    at_kill = sum(deliveries(fake_slack).values())
    assert 0 < at_kill < 300

    fake_slack.latency = 0.0
    # Rows the dead process had leased are sent again once their lease (120 s) runs out.
    await run_tick_process(fake_slack, database_url, DUE + timedelta(minutes=3))
    sent = deliveries(fake_slack)
    duplicates = sum(sent.values()) - len(sent)
    print(
        f"\nSIGKILL after {at_kill} check-ins: {len(sent)} of 300 delivered after restart, "
        f"{duplicates} duplicated (the sends in flight were looked for in the history first)"
    )
    assert sorted(sent) == sorted(OWNERS)
    assert duplicates == 0
