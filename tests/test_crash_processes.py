"""`partnerbot run` killed with SIGKILL in the middle of a tour's fan-out, then started again on
the same database (PostgreSQL in CI): every member gets the invitation once. None is lost, a
message recorded as sent before the kill is not sent again, and the sends that were in flight at
the kill are looked for in their DM's history before they are sent again."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import EVENTS_PATH
from bot.models import OutboxMessage, OutboxStatus
from bot.sandbox.bot_process import ChildProcess, bot_env, partnerbot_run
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.settings import SettingsError, load_settings
from tests.conftest import SIGNING_SECRET
from tests.journeys import CHANNEL, LEADER, launch_tour

MEMBERS = [f"UMEMBER{n:04d}" for n in range(300)]
DMS = len(MEMBERS) + 1  # an invitation each, and the leader's confirmation
# The delivery worker's concurrent sends (bot/delivery.py). Each send in flight at the kill is
# checked after the restart with conversations.open and conversations.history, which Slack
# allows about 50 times a minute (Tier 3; the gate lets 25 go at once, then one every 1.2 s):
# 32 in flight are checked in about 10 s, 128 would take two minutes.
SEND_SLOTS = 32
# The worker sends in batches of 32 that arrive together; killing once the second batch is
# arriving leaves both kinds of row behind: recorded as sent, and claimed but not recorded.
KILL_AFTER = SEND_SLOTS + 20
# The rows the killed process had claimed go to the restarted one when their lease runs out.
# At the default (120 s) the test would wait two minutes; 2 s cannot repeat a message here,
# because one process sends at a time and no send takes anywhere near it.
LEASE_SECONDS = 2
LEASE_WARNING = "OUTBOX_LEASE_SECONDS is shorter than a send may take"


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """Slack on the real clock, as `partnerbot run` is: the outbox looks for an unanswered
    message in the history from the time it was queued."""
    async with FakeSlack() as fake:
        fake.add_user(LEADER, "dana", real_name="Dana Leader", tz="Europe/Berlin")
        yield fake


def dms(fake: FakeSlack) -> Counter[str]:
    return Counter(str(m["dm_user"]) for m in fake.messages if m["dm_user"])


async def outbox_counts(sessions: async_sessionmaker[AsyncSession]) -> Counter[OutboxStatus]:
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return Counter({status: count for status, count in rows.all()})


async def channels_by_status(
    sessions: async_sessionmaker[AsyncSession],
) -> dict[OutboxStatus, set[str]]:
    """Whom the outbox rows are addressed to (a DM's channel is the person), by status."""
    async with sessions() as session:
        rows = await session.execute(select(OutboxMessage.status, OutboxMessage.channel))
        by_status: dict[OutboxStatus, set[str]] = {status: set() for status in OutboxStatus}
        for status, channel in rows.all():
            by_status[status].add(channel)
        return by_status


async def wait_until_outbox_settled(
    sessions: async_sessionmaker[AsyncSession], child: ChildProcess, timeout: float
) -> None:
    """Until no row is pending or leased: the restarted process has sent what the killed one
    left, including the rows it had leased (they come back after LEASE_SECONDS)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = await outbox_counts(sessions)
        if not counts[OutboxStatus.PENDING] and not counts[OutboxStatus.SENDING]:
            return
        assert child.process.returncode is None, "\n".join(child.lines[-20:])
        assert time.monotonic() < deadline, f"the outbox never settled: {dict(counts)}"
        await asyncio.sleep(0.1)  # polling another process's work, not waiting for time


async def test_run_killed_mid_fan_out_loses_no_invitation(
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    tmp_path: Path,
) -> None:
    for n, member in enumerate(MEMBERS):
        fake_slack.add_user(member, f"member{n}")
    fake_slack.add_channel(CHANNEL, "crash", members=[LEADER, *MEMBERS])
    env = bot_env(
        fake_slack,
        SIGNING_SECRET,
        database_url,
        settings={
            "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
            # Fewer slots than DMs (the default is 512), so the kill can land between batches.
            "OUTBOX_SEND_SLOTS": str(SEND_SLOTS),
        },
    )
    async with aiohttp.ClientSession() as http:
        async with partnerbot_run(env, tmp_path, http) as first:
            slack = SignedSlack(first.url + EVENTS_PATH, SIGNING_SECRET, fake_slack, session=http)
            fake_slack.latency = 0.2  # slow enough to kill the sender part-way through
            await launch_tour(slack, fake_slack)
            await fake_slack.wait_for(
                lambda: sum(dms(fake_slack).values()) >= KILL_AFTER, timeout=60
            )
            first.process.send_signal(signal.SIGKILL)
            await first.process.wait()
            killed_at = time.perf_counter()
        assert not first.error_lines(), first.error_lines()[0]
        at_kill = sum(dms(fake_slack).values())
        at_kill_by_status = await channels_by_status(sessions)
        recorded = at_kill_by_status[OutboxStatus.SENT]
        # Claimed by the dead process and not recorded: each may have reached Slack already.
        leased = at_kill_by_status[OutboxStatus.SENDING]
        in_flight = len(leased)
        assert sum(map(len, at_kill_by_status.values())) == DMS, at_kill_by_status
        assert 0 < at_kill < DMS
        assert at_kill_by_status[OutboxStatus.PENDING], "the kill came after the fan-out"
        assert recorded, "the kill came before any send was recorded"
        assert 0 < in_flight <= SEND_SLOTS

        fake_slack.latency = 0.0
        async with partnerbot_run(env, tmp_path, http) as second:
            await fake_slack.wait_for(
                lambda: all(dms(fake_slack)[user] >= 1 for user in [LEADER, *MEMBERS]),
                timeout=60,
            )
            await wait_until_outbox_settled(sessions, second, timeout=60)
            recovered_in = time.perf_counter() - killed_at
            second.process.terminate()
            exit_code = await asyncio.wait_for(second.process.wait(), 30)
        assert exit_code == 0, "\n".join(second.lines[-20:])
        assert second.log_messages()[-1] == "stopped"
        assert not second.error_lines(), second.error_lines()[0]
        # The setting reached the process (and it says why such a lease is risky elsewhere).
        assert LEASE_WARNING in " ".join(second.log_messages())

    sent = dms(fake_slack)
    lost = [user for user in [LEADER, *MEMBERS] if not sent[user]]
    duplicates = sum(sent.values()) - len(sent)
    print(
        f"\nSIGKILL of `partnerbot run` after {at_kill} of {DMS} tour DMs ({len(recorded)} recorded"
        f" as sent, {in_flight} in flight):"
        f" restarted, {len(sent)} of {DMS} delivered {recovered_in:.1f} s after the kill"
        f" ({LEASE_SECONDS} s lease), {len(lost)} lost, {duplicates} duplicated"
        f" ({in_flight} in flight, each looked for in its DM's history first)"
    )
    assert sorted(sent) == sorted([LEADER, *MEMBERS])
    assert not lost
    assert all(sent[user] == 1 for user in recorded)
    # The rows in flight were checked against the DMs' history before being sent again.
    assert duplicates == 0
    assert await outbox_counts(sessions) == Counter({OutboxStatus.SENT: DMS})


# Docker sends SIGKILL 10 s after SIGTERM; the bot must be gone well before.
STOP_WITHIN = 8.0
STOP_AFTER = 100  # DMs delivered when SIGTERM comes: the fan-out is well under way


async def test_sigterm_mid_fan_out_stops_fast_and_the_restart_sends_the_rest_once(
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    tmp_path: Path,
) -> None:
    """SIGTERM while a 300-DM fan-out is under way: the process stops claiming rows, gives the
    sends in flight a short deadline and hands back what it had leased, so it exits in time and
    a restart (at the default two-minute lease) sends the rest at once, each DM once."""
    for n, member in enumerate(MEMBERS):
        fake_slack.add_user(member, f"member{n}")
    fake_slack.add_channel(CHANNEL, "crash", members=[LEADER, *MEMBERS])
    env = bot_env(fake_slack, SIGNING_SECRET, database_url, settings={"OUTBOX_SEND_SLOTS": "64"})
    async with aiohttp.ClientSession() as http:
        async with partnerbot_run(env, tmp_path, http) as first:
            slack = SignedSlack(first.url + EVENTS_PATH, SIGNING_SECRET, fake_slack, session=http)
            fake_slack.latency = 0.2  # each call takes a while, so a fan-out is in flight
            await launch_tour(slack, fake_slack)
            await fake_slack.wait_for(
                lambda: sum(dms(fake_slack).values()) >= STOP_AFTER, timeout=60
            )
            signalled_at = time.perf_counter()
            first.process.send_signal(signal.SIGTERM)
            exit_code = await asyncio.wait_for(first.process.wait(), 30)
            stopped_in = time.perf_counter() - signalled_at
        assert exit_code == 0, "\n".join(first.lines[-20:])
        assert not first.error_lines(), first.error_lines()[0]
        at_stop = sum(dms(fake_slack).values())
        left = await channels_by_status(sessions)
        assert not left[OutboxStatus.SENDING], "rows were left leased"
        assert left[OutboxStatus.PENDING], "the stop came after the fan-out"

        fake_slack.latency = 0.0
        async with partnerbot_run(env, tmp_path, http) as second:
            await wait_until_outbox_settled(sessions, second, timeout=30)
            second.process.terminate()
            assert await asyncio.wait_for(second.process.wait(), 30) == 0
    sent = dms(fake_slack)
    print(
        f"\nSIGTERM of `partnerbot run` after {at_stop} of {DMS} tour DMs: exited in "
        f"{stopped_in:.1f} s; restarted, {len(sent)} of {DMS} delivered, "
        f"{sum(sent.values()) - len(sent)} duplicated"
    )
    assert stopped_in < STOP_WITHIN
    assert sorted(sent) == sorted([LEADER, *MEMBERS])
    assert all(count == 1 for count in sent.values())
    assert await outbox_counts(sessions) == Counter({OutboxStatus.SENT: DMS})


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("120", True),  # the default: two minutes
        ("1", True),  # the floor: only safe with one process sending (see README)
        ("3600", True),  # the ceiling: a crashed worker's messages wait an hour
        ("0", False),  # a row would be claimable again while it is being sent
        ("3601", False),
        ("soon", False),
    ],
)
def test_outbox_lease_seconds_is_bounded(
    value: str, accepted: bool, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    monkeypatch.setenv("OUTBOX_LEASE_SECONDS", value)
    if accepted:
        assert load_settings().outbox_lease_seconds == int(value)
        return
    with pytest.raises(SettingsError, match=r"^setting OUTBOX_LEASE_SECONDS is invalid"):
        load_settings()
