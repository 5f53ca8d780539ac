"""The outbox table: messages the bot has decided to send, written with the decision itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import OutboxMessage, OutboxStatus
from bot.store.inserts import insert_if_absent, insert_many_if_absent, insert_returning_id
from bot.store.workspaces import revoked


@dataclass(frozen=True)
class Outgoing:
    """One Web API call to queue, under a key that makes queueing it twice a no-op."""

    key: str
    method: str
    payload: dict[str, Any]
    not_before: datetime | None = None
    private: bool = False  # the payload quotes a person's words: emptied once settled

    @property
    def channel(self) -> str:
        payload = self.payload
        return str(payload.get("channel") or payload.get("user_id") or payload.get("user") or "")

    def row(
        self, *, team_id: str, now: datetime, leased_until: datetime | None = None
    ) -> dict[str, Any]:
        """The row's values; `leased_until` queues it already leased to this process, to be
        sent at once (Delivery.send_now) and by the worker only if the lease runs out."""
        return {
            "team_id": team_id,
            "idempotency_key": self.key,
            "method": self.method,
            "channel": self.channel,
            "payload": self.payload,
            "status": OutboxStatus.PENDING if leased_until is None else OutboxStatus.SENDING,
            "attempts": 0,
            "next_attempt_at": self.not_before or now,
            "lease_until": leased_until,
            "created_at": now,
            "private": self.private,
        }


@dataclass(frozen=True)
class Queued:
    """A row queued leased to this process, for Delivery.send_now; `id` None when its key was
    queued before (nothing new to send)."""

    id: int | None
    team_id: str
    outgoing: Outgoing
    created_at: datetime


async def enqueue_now(
    session: AsyncSession,
    outgoing: Outgoing,
    *,
    team_id: str,
    now: datetime,
    lease_for: timedelta,
) -> Queued:
    """Queue one call leased to this process, with the decision to make it, to be sent right
    after the commit (a reply to what a person just did)."""
    row = outgoing.row(team_id=team_id, now=now, leased_until=now + lease_for)
    message_id = await insert_returning_id(session, OutboxMessage, row)
    return Queued(message_id, team_id, outgoing, now)


async def enqueue(
    session: AsyncSession,
    *,
    team_id: str,
    key: str,
    method: str,
    payload: dict[str, Any],
    now: datetime,
    not_before: datetime | None = None,
) -> bool:
    """Queue one Web API call; a key already queued is left alone (and False is returned)."""
    outgoing = Outgoing(key=key, method=method, payload=payload, not_before=not_before)
    return await insert_if_absent(session, OutboxMessage, outgoing.row(team_id=team_id, now=now))


async def enqueue_many(
    session: AsyncSession, messages: Sequence[Outgoing], *, team_id: str, now: datetime
) -> None:
    """Queue many calls in a few statements (a tour's fan-out); keys already queued are kept."""
    await insert_many_if_absent(
        session, OutboxMessage, [message.row(team_id=team_id, now=now) for message in messages]
    )


def _claimable(now: datetime) -> Any:
    return and_(
        or_(
            and_(
                OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now
            ),
            # A worker that died mid-send leaves its rows leased; they come back when the lease
            # ends.
            and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until < now),
        ),
        # A workspace that uninstalled the app (or revoked its token) keeps its rows, unsent.
        ~revoked(OutboxMessage.team_id),
    )


async def claim_candidates(
    session: AsyncSession, *, now: datetime, limit: int
) -> Sequence[OutboxMessage]:
    """Due rows, oldest first, locked against other replicas (SKIP LOCKED; a no-op on SQLite)."""
    statement = (
        select(OutboxMessage)
        .where(_claimable(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()


async def lease(
    session: AsyncSession, *, ids: Sequence[int], now: datetime, lease_for: timedelta
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(status=OutboxStatus.SENDING, lease_until=now + lease_for)
    )


async def mark_sent(
    session: AsyncSession, *, message_id: int, now: datetime, result: dict[str, Any]
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status=OutboxStatus.SENT, sent_at=now, lease_until=None, result=result)
    )


async def mark_retry(
    session: AsyncSession,
    *,
    message_id: int,
    at: datetime,
    error: str,
    counts_as_attempt: bool,
) -> None:
    values: dict[str, Any] = {
        "status": OutboxStatus.PENDING,
        "next_attempt_at": at,
        "lease_until": None,
        "last_error": error[:255],
    }
    if counts_as_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
    )


async def mark_failed(session: AsyncSession, *, message_id: int, error: str) -> None:
    await _mark_failed(session, message_id=message_id, error=error)
    await forget_payloads(session, ids=[message_id])


async def _mark_failed(session: AsyncSession, *, message_id: int, error: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=OutboxStatus.FAILED,
            lease_until=None,
            last_error=error[:255],
            attempts=OutboxMessage.attempts + 1,
        )
    )


@dataclass(frozen=True)
class Outcome:
    """What became of one send: SENT (`at` is when, `result` Slack's answer), PENDING again
    (`at` is the next attempt) or FAILED. `attempts` counts this send if it counts."""

    message_id: int
    status: OutboxStatus
    attempts: int
    at: datetime | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    private: bool = False  # settled (SENT or FAILED): its payload is emptied


async def record_outcomes(session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
    """Many sends' outcomes at once: an UPDATE by primary key per kind, each executed for all
    its rows in one go (one per row cost a fan-out a millisecond of CPU a message)."""
    sent = [
        {
            "id": o.message_id,
            "status": OutboxStatus.SENT,
            "sent_at": o.at,
            "lease_until": None,
            "result": o.result,
        }
        for o in outcomes
        if o.status == OutboxStatus.SENT
    ]
    again = [
        {
            "id": o.message_id,
            "status": OutboxStatus.PENDING,
            "next_attempt_at": o.at,
            "lease_until": None,
            "last_error": (o.error or "")[:255],
            "attempts": o.attempts,
        }
        for o in outcomes
        if o.status == OutboxStatus.PENDING
    ]
    failed = [
        {
            "id": o.message_id,
            "status": OutboxStatus.FAILED,
            "lease_until": None,
            "last_error": (o.error or "")[:255],
            "attempts": o.attempts,
        }
        for o in outcomes
        if o.status == OutboxStatus.FAILED
    ]
    # Only rows still being sent: a send that outlived its lease may report after another
    # worker settled the row, and must not put a sent message back in the queue.
    table = OutboxMessage.__table__
    assert isinstance(table, Table)
    for rows in (sent, again, failed):
        if not rows:
            continue
        columns = [key for key in rows[0] if key != "id"]
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"), table.c.status == OutboxStatus.SENDING)
            .values({column: bindparam(column) for column in columns})
        )
        await session.execute(
            statement, [{"row_id": row["id"], **{c: row[c] for c in columns}} for row in rows]
        )
    settled = [o.message_id for o in outcomes if o.private and o.status != OutboxStatus.PENDING]
    if settled:
        await forget_payloads(session, ids=settled)


async def forget_payloads(session: AsyncSession, *, ids: Sequence[int]) -> None:
    """Empty the payloads of settled private rows (a reply that quoted a person's answers)."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.private.is_(True),
            OutboxMessage.status != OutboxStatus.PENDING,
        )
        .values(payload={})
        .execution_options(synchronize_session=False)
    )


async def release(
    session: AsyncSession,
    *,
    ids: Sequence[int],
    unanswered_ids: Sequence[int],
    error: str,
    now: datetime,
) -> int:
    """Give leased rows back, due now, for another process or the next start (a shutdown
    that could not wait for their sends); the ones in `unanswered_ids` had their request sent
    and say so in their last error. Rows settled meanwhile are left alone."""
    released = 0
    unanswered = set(unanswered_ids)
    for group, last_error in (
        ([i for i in ids if i not in unanswered], None),
        ([i for i in ids if i in unanswered], error[:255]),
    ):
        if not group:
            continue
        values: dict[str, Any] = {
            "status": OutboxStatus.PENDING,
            "lease_until": None,
            "next_attempt_at": now,
        }
        if last_error is not None:
            values["last_error"] = last_error
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(group), OutboxMessage.status == OutboxStatus.SENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        released += int(getattr(result, "rowcount", 0) or 0)
    return released


async def hold_team(session: AsyncSession, *, team_id: str, until: datetime, error: str) -> int:
    """Put every waiting row of a team back until `until` (its token stopped working): kept,
    not failed, so a fixed token delivers them; and out of the way of the other teams' rows."""
    # Rows another transaction holds (a send finishing right now) are skipped, and taken in id
    # order: two holds at once, on two replicas, must not wait on each other in a cycle.
    waiting = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.team_id == team_id,
            OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
        )
        .order_by(OutboxMessage.id)
        .with_for_update(skip_locked=True)
    )
    ids = list((await session.scalars(waiting)).all())
    if not ids:
        return 0
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(
            status=OutboxStatus.PENDING,
            next_attempt_at=until,
            lease_until=None,
            last_error=error[:255],
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest pending or leased row becomes claimable (for the worker's sleep)."""
    # A revoked workspace's rows are never claimable: the worker must not wake for them. (The
    # first row in index order, not min(): a min() over an anti-join reads every pending row.)
    pending = await session.scalar(
        select(OutboxMessage.next_attempt_at)
        .where(OutboxMessage.status == OutboxStatus.PENDING, ~revoked(OutboxMessage.team_id))
        .order_by(OutboxMessage.next_attempt_at)
        .limit(1)
    )
    leased = await session.scalar(
        select(OutboxMessage.lease_until)
        .where(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.lease_until.is_not(None),
            ~revoked(OutboxMessage.team_id),
        )
        .order_by(OutboxMessage.lease_until)
        .limit(1)
    )
    times = [t for t in (pending, leased) if t is not None]
    return min(times) if times else None


async def count_by_status(session: AsyncSession) -> dict[OutboxStatus, int]:
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: count for status, count in rows.all()}


async def backlog(session: AsyncSession, *, now: datetime, cap: int) -> tuple[int, datetime | None]:
    """Rows not yet sent (pending, or leased to a sender), counted up to `cap` so a huge
    backlog costs no more than `cap` index entries; and when the earliest due one fell due
    (a revoked workspace's rows are counted, but their age is not: they wait on purpose)."""
    waiting = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
        .limit(cap)
        .subquery()
    )
    count = await session.scalar(select(func.count()).select_from(waiting))
    oldest_due = await session.scalar(
        select(OutboxMessage.next_attempt_at)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
            ~revoked(OutboxMessage.team_id),
        )
        .order_by(OutboxMessage.next_attempt_at)
        .limit(1)
    )
    return int(count or 0), oldest_due


async def purge_sent_payloads(
    session: AsyncSession, *, sent_before: datetime, now: datetime, limit: int
) -> int:
    """Empty the payloads of up to `limit` rows sent before `sent_before` (the message's
    text and blocks, which may name people). The key stays (a replayed decision still finds
    it queued) and so does the result: a card or an offer is redrawn at the channel and ts it
    holds (services/initiatives.py). Oldest first, `limit` at a time, so one tick's
    transaction stays short after an upgrade finds a large outbox."""
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.payload_purged_at.is_(None),
            OutboxMessage.sent_at < sent_before,
        )
        .order_by(OutboxMessage.sent_at)
        .limit(limit)
    )
    ids = list((await session.scalars(due)).all())
    if not ids:
        return 0
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(payload={}, payload_purged_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(ids)
