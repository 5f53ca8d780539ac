"""The outbox sender against the fake Slack: exactly once, paced, and honest about failures."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import FrozenClock
from bot.delivery import SEND_SLOTS, Delivery, RateGate
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


async def test_a_burst_of_sends_is_recorded_in_a_few_transactions(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    clock: FrozenClock,
) -> None:
    users = [f"U{n:04d}" for n in range(200)]
    for user in users:
        fake_slack.add_user(user, user.lower())
    await queue_dms(sessions, clock, users)
    fake_slack.inject_faults("chat.postMessage", rate_429=0.10, rate_5xx=0.05, seed=5)
    commits: list[int] = []
    event.listen(engine.sync_engine, "commit", lambda _: commits.append(1))

    report = await delivery.deliver_due()

    print(f"\n200 sends: {len(commits)} transactions")
    assert (report.sent, report.retried) == (len(fake_slack.messages), 200 - report.sent)
    assert report.retried > 0  # 429s and 500s were recorded too
    # One to claim; the outcomes share the rest (a transaction each made it 201).
    assert len(commits) <= 20
    assert await statuses(sessions) == {
        OutboxStatus.SENT: report.sent,
        OutboxStatus.PENDING: report.retried,
    }


async def test_rows_held_by_a_retry_after_wake_the_worker_when_it_ends(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """A 429 (Retry-After 30) and a 500 in the same burst: the 500's row is due again long
    before the window ends. The worker then sleeps until the window ends, rather than waking
    whenever some other window closes (the DMs' one-second channel spacing) to claim nothing."""
    users = [f"U{n:04d}" for n in range(20)]
    for user in users:
        fake_slack.add_user(user, user.lower())
    await queue_dms(sessions, clock, users)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=30)
    fake_slack.fail_next("chat.postMessage", status=500)
    started = clock.now()

    await delivery.deliver_due()
    backoff = await delivery.next_wakeup()  # the 500's row, due again within a second
    assert backoff is not None
    assert backoff < started + timedelta(seconds=1)
    clock.set(backoff)
    assert (await delivery.deliver_due()).sent == 0  # held: inside the 429's window
    woken = await delivery.next_wakeup()

    assert woken == started + timedelta(seconds=30)
    clock.set(woken)
    await delivery.deliver_due()
    assert [len(fake_slack.dms_to(user)) for user in users] == [1] * 20
    assert fake_slack.rate_limit_violations == []


async def lose_the_answers(sessions: async_sessionmaker[AsyncSession]) -> None:
    """As if every row's last attempt had got no answer (the connection dropped)."""
    async with sessions.begin() as session:
        await session.execute(
            update(OutboxMessage).values(
                status=OutboxStatus.PENDING, last_error="unanswered:ServerDisconnectedError"
            )
        )


async def test_an_unanswered_send_slack_did_post_is_found_and_not_sent_again(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await queue_dms(sessions, clock, ["UALICE", "UBOB"])
    await delivery.deliver_due()  # Slack posts both...
    await lose_the_answers(sessions)  # ...and the answers never arrive
    clock.advance(seconds=1)

    report = await delivery.deliver_due()

    assert report.sent == 2
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert len(fake_slack.calls_to("conversations.history")) == 2
    async with sessions() as session:
        results = {row.channel: row.result for row in await session.scalars(select(OutboxMessage))}
    assert results == {
        user: {"channel": m["channel"], "ts": m["ts"]}
        for user in ("UALICE", "UBOB")
        for m in fake_slack.dms_to(user)
    }


@pytest.mark.parametrize(
    "history_error",
    [
        None,  # the history is read and the message is not in it
        "missing_scope",  # it cannot be read: sending again beats never sending
    ],
)
async def test_an_unanswered_send_not_found_in_the_history_is_sent(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    history_error: str | None,
) -> None:
    await queue_dms(sessions, clock, ["UALICE"])
    await lose_the_answers(sessions)  # the request never reached Slack
    if history_error is not None:
        fake_slack.fail_next("conversations.history", error=history_error)

    report = await delivery.deliver_due()

    assert report.sent == 1
    assert len(fake_slack.dms_to("UALICE")) == 1
    assert len(fake_slack.calls_to("conversations.history")) == 1


async def test_a_rate_limited_history_check_waits_out_its_retry_after(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await queue_dms(sessions, clock, ["UALICE", "UBOB"])
    await lose_the_answers(sessions)
    fake_slack.fail_next("conversations.history", status=429, retry_after=20)

    first = await delivery.deliver_due()
    reads = len(fake_slack.calls_to("conversations.history"))
    clock.advance(seconds=10)  # inside the window: neither checked nor sent
    await delivery.deliver_due()

    assert len(fake_slack.calls_to("conversations.history")) == reads
    assert first.retried >= 1
    clock.advance(seconds=10)
    await delivery.deliver_due()
    assert [len(fake_slack.dms_to(user)) for user in ("UALICE", "UBOB")] == [1, 1]
    assert fake_slack.rate_limit_violations == []
    assert await statuses(sessions) == {OutboxStatus.SENT: 2}


def test_the_send_slots_setting_defaults_to_the_workers() -> None:
    assert Settings.model_fields["outbox_send_slots"].default == SEND_SLOTS


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


async def test_a_row_a_dead_worker_had_posted_is_not_posted_again_after_its_lease(
    delivery: Delivery,
    fake_slack: FakeSlack,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """Killed between Slack's answer and recording it: the row comes back when its lease ends,
    and the history says it was posted."""
    await queue_dms(sessions, clock, ["UALICE", "UBOB"])
    await delivery.deliver_due()  # Slack posts both...
    async with sessions.begin() as session:  # ...and the worker dies before recording them
        await session.execute(
            update(OutboxMessage).values(
                status=OutboxStatus.SENDING,
                sent_at=None,
                result=None,
                lease_until=clock.now() + timedelta(minutes=2),
            )
        )
    clock.advance(minutes=2, seconds=1)

    report = await delivery.deliver_due()

    assert report.sent == 2
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert len(fake_slack.calls_to("conversations.history")) == 2
    async with sessions() as session:
        statuses = [row.status for row in await session.scalars(select(OutboxMessage))]
    assert statuses == [OutboxStatus.SENT, OutboxStatus.SENT]


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
    from tests.factories import closed_tour_with_themes

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


async def test_a_late_outcome_does_not_undo_a_row_another_worker_settled(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """A send that outlived its lease reports after another worker sent the row again: its
    'try again later' must not put a sent message back in the queue."""
    await queue_dms(sessions, clock, ["UALICE", "UBOB"])
    async with sessions.begin() as session:
        ids = list((await session.scalars(select(OutboxMessage.id))).all())
        await outbox.lease(session, ids=ids, now=clock.now(), lease_for=timedelta(minutes=2))
        await session.execute(  # the other worker sent UALICE's
            update(OutboxMessage)
            .where(OutboxMessage.channel == "UALICE")
            .values(status=OutboxStatus.SENT, lease_until=None)
        )
    late = [
        outbox.Outcome(row_id, OutboxStatus.PENDING, 1, at=clock.now(), error="http_500")
        for row_id in ids
    ]
    async with sessions.begin() as session:
        await outbox.record_outcomes(session, late)
    async with sessions() as session:
        rows = await session.execute(select(OutboxMessage.channel, OutboxMessage.status))
        statuses = {channel: status for channel, status in rows}
    assert statuses == {"UALICE": OutboxStatus.SENT, "UBOB": OutboxStatus.PENDING}


# --- the rate gate: Slack's tiers, and one probe after a Retry-After window ----------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def admitted_within(gate: RateGate, method: str, seconds: float, *, step: float = 0.1) -> int:
    """How many calls to `method` the gate lets start in `seconds`, asked every `step` s."""
    admitted, at = 0, T0
    while at < T0 + timedelta(seconds=seconds):
        while gate.admit("T1", method, "", at) is None:
            admitted += 1
        at += timedelta(seconds=step)
    return admitted


@pytest.mark.parametrize(
    ("method", "seconds", "most"),
    [
        ("users.list", 60, 10 + 20),  # Tier 2: a burst of 10, then 20 a minute
        ("conversations.open", 60, 25 + 50),  # Tier 3: a burst of 25, then 50 a minute
        ("views.publish", 60, 50 + 100),  # Tier 4: a burst of 50, then 100 a minute
        ("conversations.open", 1, 25 + 1),  # a restarted worker's history checks: 25 at once
    ],
)
def test_tiered_methods_are_paced_at_their_tier(method: str, seconds: float, most: int) -> None:
    admitted = admitted_within(RateGate(), method, seconds)
    assert most - 1 <= admitted <= most


def test_messages_to_distinct_channels_are_not_paced_by_the_method() -> None:
    gate = RateGate()
    assert all(gate.admit("T1", "chat.postMessage", f"D{n}", T0) is None for n in range(1000))
    for n in range(1000):
        gate.note_send("T1", "chat.postMessage", f"D{n}", T0)
    # ...but each channel only once a second
    assert gate.admit("T1", "chat.postMessage", "D1", T0) == T0 + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("method", "after_probe"),
    [
        ("chat.postMessage", 1000),  # paced by channel: everything goes once the probe is back
        ("conversations.open", 1),  # Tier 3: the probe, then one every 1.2 s, no burst
    ],
)
def test_after_a_retry_after_one_probe_goes_then_the_tier_rate(
    method: str, after_probe: int
) -> None:
    gate = RateGate()
    reopens = T0 + timedelta(seconds=5)
    gate.close_method("T1", method, reopens)
    inside = reopens - timedelta(milliseconds=1)
    assert gate.admit("T1", method, "D0", inside) == reopens  # nothing inside the window
    assert gate.admit("T1", method, "D1", reopens) is None  # the probe
    held = [gate.admit("T1", method, f"D{n}", reopens) for n in range(2, 100)]
    assert all(t is not None and t > reopens for t in held)  # the rest wait for its answer
    assert gate.answered("T1", method)
    later = reopens + timedelta(seconds=1.2)
    going = sum(gate.admit("T1", method, f"D{n}", later) is None for n in range(1000))
    assert going == after_probe


def test_a_refused_probe_lets_the_next_one_go_after_the_new_window() -> None:
    gate = RateGate()
    gate.close_method("T1", "users.list", T0)
    assert gate.admit("T1", "users.list", "", T0) is None  # the probe...
    gate.close_method("T1", "users.list", T0 + timedelta(seconds=5))  # ...refused again
    assert gate.admit("T1", "users.list", "", T0 + timedelta(seconds=5)) is None
    assert gate.admit("T1", "users.list", "", T0 + timedelta(seconds=5)) is not None
