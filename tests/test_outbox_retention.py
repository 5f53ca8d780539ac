"""Sent outbox rows lose their payload after OUTBOX_RETENTION_DAYS, run by the tick; their
key and result stay, and nothing still to send (or failed) is touched."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FrozenClock
from bot.deps import Deps, build_deps
from bot.models import OutboxMessage, OutboxStatus
from bot.scheduler import run_tick
from bot.settings import Settings
from bot.store import outbox

PAYLOAD = {"channel": "CTEAM", "text": "Quick wins this week: <@UALICE> shipped alerts"}
RESULT = {"channel": "CTEAM", "ts": "1700000000.000100"}


async def queue_row(
    sessions: async_sessionmaker[AsyncSession],
    *,
    key: str,
    status: OutboxStatus,
    sent_at: datetime | None,
    created_at: datetime,
) -> None:
    async with sessions.begin() as session:
        await outbox.enqueue(
            session,
            team_id="T00000001",
            key=key,
            method="chat.postMessage",
            payload=PAYLOAD,
            now=created_at,
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.idempotency_key == key)
            .values(status=status, sent_at=sent_at, result=RESULT if sent_at else None)
        )


async def row(sessions: async_sessionmaker[AsyncSession], key: str) -> OutboxMessage:
    async with sessions() as session:
        found = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
        )
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("status", "sent_days_ago", "retention_days", "purged"),
    [
        (OutboxStatus.SENT, 8, 7, True),  # past the default week
        (OutboxStatus.SENT, 6, 7, False),  # within it
        (OutboxStatus.SENT, 7, 7, False),  # exactly a retention ago: kept until it is past
        (OutboxStatus.SENT, 3, 2, True),  # the setting is what counts
        (OutboxStatus.SENT, 30, 60, False),  # a longer retention keeps it
        (OutboxStatus.PENDING, None, 7, False),  # queued a month ago, still to send
        (OutboxStatus.FAILED, None, 7, False),  # failed: kept to say what failed
    ],
)
async def test_the_tick_purges_sent_payloads_past_the_retention(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    status: OutboxStatus,
    sent_days_ago: int | None,
    retention_days: int,
    purged: bool,
) -> None:
    now = clock.now()
    sent_at = now - timedelta(days=sent_days_ago) if sent_days_ago is not None else None
    await queue_row(
        sessions, key="row", status=status, sent_at=sent_at, created_at=now - timedelta(days=30)
    )
    # Held for a revoked team or waiting: a pending row a month old is not sent by this tick.
    async with sessions.begin() as session:
        await session.execute(update(OutboxMessage).values(next_attempt_at=now + timedelta(days=1)))
    deps = build_deps(
        settings.model_copy(update={"outbox_retention_days": retention_days}), clock=clock
    )
    try:
        report = await run_tick(deps)
    finally:
        await deps.close()

    after = await row(sessions, "row")
    assert report.counts["sent messages' payloads purged"] == int(purged)
    assert after.payload == ({} if purged else PAYLOAD)
    assert after.payload_purged_at == (now if purged else None)
    assert after.status == status
    assert after.result == (RESULT if sent_at else None)  # Slack's channel and ts stay


async def test_a_purge_takes_the_oldest_first_a_batch_at_a_time(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    now = clock.now()
    for days in (10, 9, 8):
        await queue_row(
            sessions,
            key=f"sent-{days}",
            status=OutboxStatus.SENT,
            sent_at=now - timedelta(days=days),
            created_at=now - timedelta(days=days),
        )
    cutoff = now - timedelta(days=7)
    async with sessions.begin() as session:
        assert await outbox.purge_sent_payloads(session, sent_before=cutoff, now=now, limit=2) == 2
    assert [(await row(sessions, f"sent-{d}")).payload == {} for d in (10, 9, 8)] == [
        True,
        True,
        False,
    ]
    later = now + timedelta(minutes=1)
    async with sessions.begin() as session:
        assert (
            await outbox.purge_sent_payloads(session, sent_before=cutoff, now=later, limit=2) == 1
        )
    # A row purged before is not purged again (its time stays the first purge's).
    assert (await row(sessions, "sent-10")).payload_purged_at == now
    assert (await row(sessions, "sent-8")).payload_purged_at == later


async def test_a_purged_key_is_still_queued_once(
    deps: Deps, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """A decision replayed after the purge (a doubled tick) finds its key and sends nothing."""
    now = clock.now()
    await queue_row(
        sessions,
        key="weekly:2026-W09",
        status=OutboxStatus.SENT,
        sent_at=now - timedelta(days=8),
        created_at=now - timedelta(days=8),
    )
    await run_tick(deps)
    async with sessions.begin() as session:
        queued = await outbox.enqueue(
            session,
            team_id="T00000001",
            key="weekly:2026-W09",
            method="chat.postMessage",
            payload=PAYLOAD,
            now=now,
        )
    assert queued is False
    assert (await row(sessions, "weekly:2026-W09")).status == OutboxStatus.SENT
