"""Database faults (issue #7): the database stops taking writes while people vote, answer a
question by DM, submit the answer form, and while the outbox has messages to send — the person
gets the error handler's "try again" (with a reference), nothing partial is stored, and once
the database is back the same action succeeds with no restart.

On SQLite the outage is another process holding the write lock (`BEGIN EXCLUSIVE` on the same
file: what a backup, a migration or a stuck `partnerbot tick` does). In WAL mode reads go on;
every write waits out the busy timeout (bot/db.py, 5 s) and then fails with "database is
locked". So that the suite need not sit through 5 s per write, most tests give the bot's own
connections a 250 ms busy timeout: the same failure on the same path, sooner. One test keeps the
configured 5 s, because that is what decides whether a modal still gets its answer within
Slack's 3 s. A 10 s outage is then exactly this, twice."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.blocks.findings import FindingsAction
from bot.blocks.tour import TourView
from bot.clock import FrozenClock
from bot.db import SQLITE_BUSY_TIMEOUT_MS, is_sqlite
from bot.deps import Deps
from bot.models import Answer, OutboxStatus, ProcessedEvent, Vote
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.store import outbox
from tests.reliability.helpers import (
    TEAM_A,
    Seeded,
    changes,
    figure,
    settle,
    snapshot,
    unhandled,
    view_payload,
)

SHORT_BUSY_MS = 250
SLACK_ACK_SECONDS = 3.0
TRY_AGAIN = "Please try again in a minute"  # bot/handlers/errors.py unexpected_error_message


class WriteLock:
    """Another process's hold on the database's write lock."""

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, timeout=0.5, isolation_level=None)

    def __enter__(self) -> WriteLock:
        self._connection.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *exc: object) -> None:
        self._connection.execute("ROLLBACK")

    def close(self) -> None:
        self._connection.close()


@pytest.fixture
def lock(database_url: str) -> Iterator[WriteLock]:
    if not is_sqlite(database_url):
        pytest.skip(
            "the outage is simulated with SQLite's write lock; on PostgreSQL stop the "
            "server or kill the backends instead (not automated here)"
        )
    held = WriteLock(str(make_url(database_url).database))
    yield held
    held.close()


@pytest.fixture
async def short_busy_timeout(deps: Deps) -> None:
    """The bot's connections give up on a held lock after 250 ms instead of 5 s."""
    await deps.engine.dispose()

    @event.listens_for(deps.engine.sync_engine, "connect")
    def _shorter(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SHORT_BUSY_MS}")
        cursor.close()


async def votes(sessions: async_sessionmaker[AsyncSession], poll_id: int) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Vote.voter_id, Vote.theme_id, Vote.count)
            .where(Vote.poll_id == poll_id)
            .order_by(Vote.voter_id, Vote.theme_id)
        )
        return [tuple(row) for row in rows]


async def test_a_vote_while_the_database_is_locked_says_try_again_and_counts_once_it_is_back(
    short_busy_timeout: None,
    lock: WriteLock,
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    value = f"{team_a.poll}:{team_a.open_theme}"
    before = await snapshot(sessions, skip=())
    with caplog.at_level(logging.ERROR, logger="bot.errors"), lock:
        answer = await slack.block_action(
            "UBOB", FindingsAction.VOTE, value=value, channel_id=team_a.channel
        )
        await settle(deps)
    told = [r["body"]["text"] for r in fake_slack.responses]
    partial = changes(before, await snapshot(sessions, skip=()))

    # The database is back: the same click, made again, counts.
    again = await slack.block_action(
        "UBOB", FindingsAction.VOTE, value=value, channel_id=team_a.channel
    )
    await settle(deps)
    after = await votes(sessions, team_a.poll)
    counted = ("UBOB", team_a.open_theme, 1) in after
    figure(
        "database faults: vote while locked",
        http=answer.status,
        told_try_again=sum(TRY_AGAIN in t for t in told),
        rows_changed_while_locked=len(partial),
        unhandled_logged=len(unhandled(caplog.records)),
        counted_after_recovery=counted,
    )
    assert answer.status == 200
    assert any(TRY_AGAIN in text and "reference" in text for text in told), told
    assert partial == {}  # not the vote, not the click's claim
    assert again.status == 200
    assert counted
    assert "Vote placed" in fake_slack.responses[-1]["body"]["text"]


async def test_a_dm_answer_while_the_database_is_locked_says_try_again_and_is_kept_when_resent(
    short_busy_timeout: None,
    lock: WriteLock,
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """UALICE answers question 2 while the database is locked. The event is acknowledged
    before the answer is stored, so Slack will not deliver it again: she is told to try again
    and nothing is stored — not the answer, not the event's claim. Once the database is back
    she sends it again, and it is recorded exactly once."""
    before = await snapshot(sessions, skip=())
    dms_before = len(fake_slack.dms_to("UALICE"))
    with caplog.at_level(logging.ERROR, logger="bot.errors"), lock:
        first = await slack.dm("UALICE", "Deploys are slow")
        await settle(deps)
    told = [m["text"] for m in fake_slack.dms_to("UALICE")[dms_before:]]
    partial = changes(before, await snapshot(sessions, skip=()))

    again = await slack.dm("UALICE", "Deploys are slow")
    await settle(deps)
    async with sessions() as session:
        answers = list(
            await session.scalars(
                select(Answer.text).where(
                    Answer.tour_id == team_a.open_tour,
                    Answer.question_id == team_a.open_questions[1],
                )
            )
        )
        claims = await session.scalar(select(func.count()).select_from(ProcessedEvent))
    figure(
        "database faults: DM answer while locked",
        http=first.status,
        told_try_again=sum(TRY_AGAIN in t for t in told),
        rows_changed_while_locked=len(partial),
        stored_after_resend=len(answers),
        events_claimed=claims,
    )
    assert first.status in (200, 503)  # 503 only if refused before the acknowledgement
    assert any(TRY_AGAIN in text for text in told), told
    assert partial == {}
    assert again.status == 200
    assert answers == ["Deploys are slow"]
    assert claims == 1


async def test_the_outbox_worker_rides_out_the_outage_and_sends_each_message_once(
    short_busy_timeout: None,
    lock: WriteLock,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    users = [f"UD{n:02d}" for n in range(20)]
    for user in users:
        fake_slack.add_user(user, user.lower())
    async with sessions.begin() as session:
        for user in users:
            await outbox.enqueue(
                session,
                team_id=TEAM_A,
                key=f"outage:{user}",
                method="chat.postMessage",
                payload={"channel": user, "text": f"outage test for {user}"},
                now=clock.now(),
            )
    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger="bot.delivery"):
        with lock:
            worker = asyncio.create_task(deps.delivery.run(stop, poll_every=0.1))
            await asyncio.sleep(1.0)  # the worker keeps trying and failing to claim rows
            sent_while_locked = len(fake_slack.calls_to("chat.postMessage"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            async with sessions() as session:
                if await outbox.count_by_status(session) == {OutboxStatus.SENT: len(users)}:
                    break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(worker, timeout=10)
    failed_passes = [r for r in caplog.records if "outbox pass failed" in r.getMessage()]
    counts = [sum("outage test" in m["text"] for m in fake_slack.dms_to(u)) for u in users]
    figure(
        "database faults: outbox worker through a 1 s write outage",
        failed_passes=len(failed_passes),
        sent_while_locked=sent_while_locked,
        delivered=sum(1 for n in counts if n),
        lost=counts.count(0),
        duplicated=sum(n - 1 for n in counts if n > 1),
    )
    assert failed_passes  # it did meet the outage
    assert sent_while_locked == 0
    assert counts == [1] * len(users)


@pytest.mark.xfail(
    strict=True,
    reason="a modal submission writes before it acknowledges; with the database locked the "
    "write waits out bot/db.py's 5 s SQLITE_BUSY_TIMEOUT_MS, so the 'try again' answer comes "
    "after Slack's 3 s limit: Slack has already shown its own connection error and drops "
    "the bot's answer",
)
async def test_an_answer_form_submitted_while_locked_gets_try_again_within_slacks_3_s(
    lock: WriteLock,
    slack: SignedSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
) -> None:
    assert SQLITE_BUSY_TIMEOUT_MS / 1000 > SLACK_ACK_SECONDS  # the configured value, kept
    payload = view_payload(
        slack,
        "UALICE",
        callback_id=TourView.ANSWERS,
        private_metadata=f'{{"tour_id": {team_a.open_tour}, "mode": "add"}}',
        values={"answer.2": {"answer.2.input": {"type": "plain_text_input", "value": "Later"}}},
    )
    before = await snapshot(sessions, skip=())
    with lock:
        started = time.perf_counter()
        answer = await slack.deliver("interactive", payload)
        took = time.perf_counter() - started
        await settle(deps)
    figure("database faults: answer form while locked", ack_seconds=round(took, 2))
    assert changes(before, await snapshot(sessions, skip=())) == {}
    assert TRY_AGAIN in answer.text
    assert took < SLACK_ACK_SECONDS
