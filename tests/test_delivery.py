"""The outbox sender against the fake Slack: exactly once, paced, and honest about failures."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FrozenClock
from bot.delivery import Delivery
from bot.deps import slack_client
from bot.models import OutboxMessage, OutboxStatus
from bot.sandbox.fake_slack import FakeSlack
from bot.settings import Settings
from bot.store import outbox


@pytest.fixture
async def delivery(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FrozenClock
) -> AsyncIterator[Delivery]:
    sender = Delivery(sessions, slack_client(settings), clock, rng=random.Random(7))
    yield sender
    await sender.close()


async def queue_dms(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, users: list[str]
) -> None:
    async with sessions.begin() as session:
        for user in users:
            await outbox.enqueue(
                session,
                team_id="T00000001",
                key=f"invite:{user}",
                method="chat.postMessage",
                payload={"channel": user, "text": f"Hello {user}"},
                now=clock.now(),
            )


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[OutboxStatus, int]:
    async with sessions() as session:
        return await outbox.count_by_status(session)


async def drain(
    delivery: Delivery, clock: FrozenClock, *, step: timedelta, limit: int = 500
) -> int:
    """Deliver, let time pass in steps, until nothing is pending; returns passes taken."""
    for passes in range(1, limit + 1):
        await delivery.deliver_due()
        if await delivery.next_wakeup() is None:
            return passes
        clock.advance(step)
    raise AssertionError("outbox never drained")


async def test_two_hundred_dms_through_429s_and_500s_arrive_exactly_once(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    users = [f"U{n:04d}" for n in range(200)]
    for user in users:
        fake_slack.add_user(user, user.lower())
    await queue_dms(sessions, clock, users)
    fake_slack.inject_faults("chat.postMessage", rate_429=0.10, rate_5xx=0.05, seed=11)

    await drain(delivery, clock, step=timedelta(seconds=1))

    faulted = [c for c in fake_slack.calls_to("chat.postMessage") if not c.ok]
    assert {c.http_status for c in faulted} == {429, 500}  # both kinds really happened
    assert [len(fake_slack.dms_to(user)) for user in users] == [1] * 200
    assert await statuses(sessions) == {OutboxStatus.SENT: 200}
    assert fake_slack.rate_limit_violations == []


async def test_no_call_to_a_method_inside_its_retry_after_window(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await queue_dms(sessions, clock, ["UALICE", "UBOB"])
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=30)

    first = await delivery.deliver_due()
    calls_after_429 = len(fake_slack.calls_to("chat.postMessage"))
    assert first.retried >= 1

    for seconds in (1, 10, 29):  # still inside the window: no call at all
        clock.set(clock.now().replace(second=0) + timedelta(seconds=seconds))
        await delivery.deliver_due()
        assert len(fake_slack.calls_to("chat.postMessage")) == calls_after_429

    clock.advance(seconds=1)  # the window ends
    await delivery.deliver_due()
    assert len(fake_slack.dms_to("UALICE")) == 1
    assert len(fake_slack.dms_to("UBOB")) == 1
    assert fake_slack.rate_limit_violations == []


@pytest.mark.parametrize(
    "error", ["user_not_found", "channel_not_found", "account_inactive", "invalid_blocks"]
)
async def test_permanent_errors_fail_the_row_after_one_attempt(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    error: str,
) -> None:
    await queue_dms(sessions, clock, ["UALICE"])
    fake_slack.fail_next("chat.postMessage", error=error)

    report = await delivery.deliver_due()
    clock.advance(hours=1)
    await delivery.deliver_due()

    assert report.failed == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    async with sessions() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.FAILED, 1, error)


async def test_server_errors_back_off_then_give_up(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await queue_dms(sessions, clock, ["UALICE"])
    fake_slack.fail_next("chat.postMessage", status=503, times=100)

    gaps = []
    for _ in range(8):
        before = len(fake_slack.calls_to("chat.postMessage"))
        await delivery.deliver_due()
        assert len(fake_slack.calls_to("chat.postMessage")) == before + 1
        wake = await delivery.next_wakeup()
        if wake is None:
            break
        gaps.append(wake - clock.now())
        clock.set(wake)

    assert gaps == sorted(gaps)  # exponential back-off: every wait at least as long
    assert gaps[0] >= timedelta(seconds=0.5)  # half the base back-off at least (jitter)
    assert await statuses(sessions) == {OutboxStatus.FAILED: 1}
    assert len(fake_slack.calls_to("chat.postMessage")) == 8


async def test_a_key_is_queued_once(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await queue_dms(sessions, clock, ["UALICE"])
    await queue_dms(sessions, clock, ["UALICE"])
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


async def test_one_message_a_second_into_one_channel_in_order(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    async with sessions.begin() as session:
        for n in range(3):
            await outbox.enqueue(
                session,
                team_id="T00000001",
                key=f"post:{n}",
                method="chat.postMessage",
                payload={"channel": "CTEAM", "text": f"update {n}"},
                now=clock.now(),
            )
    sent_per_pass = []
    for _ in range(3):
        sent_per_pass.append((await delivery.deliver_due()).sent)
        clock.advance(seconds=1)
    assert sent_per_pass == [1, 1, 1]
    texts = [message["text"] for message in fake_slack.messages_in("CTEAM")]
    assert texts == ["update 0", "update 1", "update 2"]


async def test_a_row_leased_by_a_dead_worker_is_sent_after_its_lease(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await queue_dms(sessions, clock, ["UALICE"])
    async with sessions.begin() as session:  # a worker claimed it, then was killed
        await session.execute(
            update(OutboxMessage).values(
                status=OutboxStatus.SENDING, lease_until=clock.now() + timedelta(minutes=2)
            )
        )
    assert (await delivery.deliver_due()).sent == 0
    clock.advance(minutes=2, seconds=1)
    assert (await delivery.deliver_due()).sent == 1
    assert len(fake_slack.dms_to("UALICE")) == 1


@pytest.mark.parametrize("error", ["token_revoked", "invalid_auth"])
async def test_a_refused_token_holds_the_teams_messages_and_is_logged_once(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
    error: str,
) -> None:
    people = [f"U{n:03d}" for n in range(20)]
    for person in people:
        fake_slack.add_user(person, person.lower())
    await queue_dms(sessions, clock, people)
    async with sessions.begin() as session:  # another workspace's message, due as well
        await outbox.enqueue(
            session,
            team_id="T2",
            key="other-team",
            method="chat.postMessage",
            payload={"channel": "UALICE", "text": "Hello from T2"},
            now=clock.now(),
        )
    fake_slack.fail_next("chat.postMessage", error=error, times=1_000)
    with caplog.at_level("ERROR", logger="bot.delivery"):
        await delivery.deliver_due()
        clock.advance(minutes=10)
        await delivery.deliver_due()
    calls = len(fake_slack.calls_to("chat.postMessage"))
    refused = [r for r in caplog.records if "refused the bot token" in r.getMessage()]
    print(f"\n{error}: {calls} calls for 21 messages, {len(refused)} log line(s)")
    # Only the calls already in flight when the first refusal came back; none after.
    assert calls <= 21
    assert len({r.__dict__.get("team") for r in refused}) == len(refused)
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert {row.status for row in rows} == {OutboxStatus.PENDING}  # kept, not failed
    # A fixed token (the refusals stop): an hour later every message goes out once.
    fake_slack.clear_faults()
    clock.advance(hours=1)
    await drain(delivery, clock, step=timedelta(seconds=1))
    assert await statuses(sessions) == {OutboxStatus.SENT: 21}


@pytest.mark.parametrize("error", ["is_archived", "channel_not_found", "not_in_channel"])
async def test_a_refused_team_channel_is_not_retried_and_its_leader_is_told_once(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    error: str,
) -> None:
    from tests.services.test_outcomes import closed_tour_with_themes

    await closed_tour_with_themes(sessions)  # a tour of T1 posting in CTEAM, led by ULEAD
    async with sessions.begin() as session:
        for n in range(2):
            await outbox.enqueue(
                session,
                team_id="T1",
                key=f"post:{n}",
                method="chat.postMessage",
                payload={"channel": "CTEAM", "text": f"post {n}"},
                now=clock.now(),
            )
    fake_slack.fail_next("chat.postMessage", error=error, times=2)
    await drain(delivery, clock, step=timedelta(seconds=1))
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    posts = [r for r in rows if r.channel == "CTEAM"]
    notices = [r for r in rows if r.channel == "ULEAD"]
    assert [(r.status, r.attempts) for r in posts] == [(OutboxStatus.FAILED, 1)] * 2
    assert len(notices) == 1  # once, however many posts failed
    assert "<#CTEAM>" in notices[0].payload["text"]
