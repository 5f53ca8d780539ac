"""Database faults (issue #7): the database goes away while people vote, answer a question by
DM, submit the answer form, and while the outbox has messages to send — the person gets the
error handler's "try again" (with a reference; a DM not yet acknowledged is answered 503
instead, so that Slack delivers it again), nothing partial is stored, and once the database is
back the same action succeeds with no restart.

The same scenarios run on the suite's database, each with the outage that database has:

- SQLite: another process holds the write lock (`BEGIN EXCLUSIVE` on the same file: what a
  backup, a migration or a stuck `partnerbot tick` does). In WAL mode reads go on; every write
  waits out the busy timeout (bot/db.py, 5 s) and then fails with "database is locked". So that
  the suite need not sit through 5 s per write, most tests give the bot's own connections a
  250 ms busy timeout: the same failure on the same path, sooner. The answer form keeps the
  configured 5 s, because what it tests is whether a modal still gets its answer within
  Slack's 3 s.
- PostgreSQL: the bot's engine reaches the server through helpers.TcpProxy, and the outage is
  the server stopping as the bot sees it: every open connection is reset and new ones are
  refused until it is back. No superuser needed, and the tests' own sessions (not proxied) can
  look at the database meanwhile. PostgreSQL-only tests add a network cut (new connections are
  never answered: the engine's connect timeout has to end the wait within Slack's 3 s), the
  server going away at a transaction's COMMIT, and the server terminating the bot's backends.

How long an outage lasts changes nothing the bot does: it keeps no state about failures (no
circuit breaker, no back-off on the request path); each request tries the database and fails
in the time measured here, and the first one after it is back succeeds. A 10 s outage is these
scenarios with more failed requests in between."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import QueuePool

from bot import db
from bot.blocks.findings import FindingsAction
from bot.blocks.tour import TourView
from bot.clock import FrozenClock
from bot.db import POSTGRES_CONNECT_TIMEOUT_S, SQLITE_BUSY_TIMEOUT_MS, is_sqlite
from bot.deps import Deps
from bot.models import Answer, OutboxStatus, ProcessedEvent, Vote
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import Delivery, SignedSlack
from bot.settings import Settings
from bot.store import outbox
from tests.factories import queued_dms
from tests.reliability.helpers import (
    TEAM_A,
    Json,
    Seeded,
    TcpProxy,
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
PG_ONLY = "PostgreSQL only: SQLite has no server to stop or connection to cut"
BOT_APPLICATION_NAME = f"partnerbot-db-faults-{os.getpid()}"  # the bot's backends, by name


# --- the outage, on each database --------------------------------------------------------------


class WriteLock:
    """SQLite: another process's hold on the database's write lock."""

    name = "SQLite write lock held by another process"

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, timeout=0.5, isolation_level=None)

    async def __aenter__(self) -> WriteLock:
        self._connection.execute("BEGIN EXCLUSIVE")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._connection.execute("ROLLBACK")

    def close(self) -> None:
        self._connection.close()


class ServerDown:
    """PostgreSQL: the server stops and starts again, as the bot's connections see it."""

    name = "PostgreSQL server down"

    def __init__(self, proxy: TcpProxy) -> None:
        self.proxy = proxy

    async def __aenter__(self) -> ServerDown:
        self.proxy.cut(refuse=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.proxy.restore()


Outage = WriteLock | ServerDown


@pytest.fixture
async def db_proxy(database_url: str) -> AsyncIterator[TcpProxy | None]:
    """On PostgreSQL, a proxy between the bot's engine and the server; None on SQLite."""
    if is_sqlite(database_url):
        yield None
        return
    url = make_url(database_url)
    proxy = TcpProxy(url.port or 5432, url.host or "127.0.0.1")
    await proxy.start()
    yield proxy
    await proxy.stop()


@pytest.fixture
def settings(settings: Settings, db_proxy: TcpProxy | None) -> Settings:
    """The bot's settings, its database reached through the proxy on PostgreSQL (the tests'
    own `sessions` go straight to the server, so they can look at it during the outage)."""
    if db_proxy is None:
        return settings
    url = make_url(settings.database_url).set(host="127.0.0.1", port=db_proxy.port)
    url = url.update_query_dict({"application_name": BOT_APPLICATION_NAME})
    return settings.model_copy(update={"database_url": url.render_as_string(hide_password=False)})


@pytest.fixture
def outage(database_url: str, db_proxy: TcpProxy | None) -> Iterator[Outage]:
    if db_proxy is not None:
        yield ServerDown(db_proxy)
        return
    held = WriteLock(str(make_url(database_url).database))
    yield held
    held.close()


@pytest.fixture
def proxy(db_proxy: TcpProxy | None) -> TcpProxy:
    if db_proxy is None:
        pytest.skip(PG_ONLY)
    return db_proxy


@pytest.fixture
async def short_busy_timeout(
    deps: Deps, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: the bot's connections give up on a held lock after 250 ms instead of 5 s.
    PostgreSQL: nothing to shorten (a stopped server refuses at once). Set where bot/db.py
    reads it as each connection opens, so that it is also what a write returns to after a
    write before an acknowledgement (with its own, shorter limit)."""
    if not is_sqlite(database_url):
        return
    await deps.engine.dispose()
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", SHORT_BUSY_MS)


# --- what the scenarios look at ---------------------------------------------------------------


async def votes(sessions: async_sessionmaker[AsyncSession], poll_id: int) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Vote.voter_id, Vote.theme_id, Vote.count)
            .where(Vote.poll_id == poll_id)
            .order_by(Vote.voter_id, Vote.theme_id)
        )
        return [tuple(row) for row in rows]


async def answers_to(
    sessions: async_sessionmaker[AsyncSession], tour_id: int, question_id: int
) -> list[str]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Answer.text).where(
                    Answer.tour_id == tour_id, Answer.question_id == question_id
                )
            )
        )


def escaped(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    """Errors logged anywhere but by the error handler (an exception that got past it: Bolt's,
    aiohttp's or asyncio's own "unhandled" lines)."""
    return [r for r in records if r.levelno >= logging.ERROR and r.name != "bot.errors"]


async def timed(request: Awaitable[Delivery]) -> tuple[Delivery, float]:
    started = time.perf_counter()
    answer = await request
    return answer, time.perf_counter() - started


def answer_form(slack: SignedSlack, seeded: Seeded, text_: str) -> Json:
    """UALICE submits the answer form with an answer to question 2 (a fresh view each time:
    a second submission of one view is taken for a replay)."""
    return view_payload(
        slack,
        "UALICE",
        callback_id=TourView.ANSWERS,
        private_metadata=f'{{"tour_id": {seeded.open_tour}, "mode": "add"}}',
        values={"answer.2": {"answer.2.input": {"type": "plain_text_input", "value": text_}}},
    )


# --- a vote, a DM answer, the answer form and the outbox: on either database ---------------------


async def test_a_vote_during_an_outage_says_try_again_and_counts_once_the_database_is_back(
    short_busy_timeout: None,
    outage: Outage,
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    value = f"{team_a.poll}:{team_a.open_theme}"
    before = await snapshot(sessions, skip=())
    with caplog.at_level(logging.ERROR):
        async with outage:
            answer, took = await timed(
                slack.block_action(
                    "UBOB", FindingsAction.VOTE, value=value, channel_id=team_a.channel
                )
            )
            await settle(deps)
        told = [r["body"]["text"] for r in fake_slack.responses]
        partial = changes(before, await snapshot(sessions, skip=()))

        # The database is back: the same click, made again, counts — same process, same pool.
        again = await slack.block_action(
            "UBOB", FindingsAction.VOTE, value=value, channel_id=team_a.channel
        )
        await settle(deps)
    after = await votes(sessions, team_a.poll)
    counted = ("UBOB", team_a.open_theme, 1) in after
    figure(
        f"database faults ({outage.name}): vote",
        http=answer.status,
        ack_seconds=round(took, 3),
        told_try_again=sum(TRY_AGAIN in t for t in told),
        rows_changed_during_outage=len(partial),
        unhandled_logged=len(unhandled(caplog.records)),
        escaped=len(escaped(caplog.records)),
        counted_after_recovery=counted,
    )
    assert answer.status == 200
    assert took < SLACK_ACK_SECONDS
    assert any(TRY_AGAIN in text and "reference" in text for text in told), told
    assert partial == {}  # not the vote, not the click's claim
    assert escaped(caplog.records) == []
    assert again.status == 200
    assert counted
    assert "Vote placed" in fake_slack.responses[-1]["body"]["text"]


async def test_a_dm_answer_during_an_outage_is_kept_exactly_once_when_the_database_is_back(
    short_busy_timeout: None,
    outage: Outage,
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """UALICE answers question 2 during the outage. A first delivery of an event touches no
    database before its acknowledgement, so it is acknowledged, and Slack will not send it
    again: she is told to try again, and nothing is stored, not the answer, not the event's
    claim. Once the database is back she sends it again, and it is recorded exactly once."""
    before = await snapshot(sessions, skip=())
    dms_before = len(fake_slack.dms_to("UALICE"))
    with caplog.at_level(logging.ERROR):
        async with outage:
            first, took = await timed(slack.dm("UALICE", "Deploys are slow"))
            await settle(deps)
        told = [m["text"] for m in fake_slack.dms_to("UALICE")[dms_before:]]
        partial = changes(before, await snapshot(sessions, skip=()))

        again = await slack.dm("UALICE", "Deploys are slow")
        await settle(deps)
    stored = await answers_to(sessions, team_a.open_tour, team_a.open_questions[1])
    async with sessions() as session:
        claims = await session.scalar(select(func.count()).select_from(ProcessedEvent))
    figure(
        f"database faults ({outage.name}): DM answer",
        http=first.status,
        ack_seconds=round(took, 3),
        told_try_again=sum(TRY_AGAIN in t for t in told),
        rows_changed_during_outage=len(partial),
        escaped=len(escaped(caplog.records)),
        stored_after_recovery=len(stored),
        events_claimed=claims,
    )
    assert first.status == 200
    assert took < SLACK_ACK_SECONDS
    assert sum(TRY_AGAIN in text for text in told) == 1, told
    assert partial == {}
    assert escaped(caplog.records) == []
    assert again.status == 200
    assert stored == ["Deploys are slow"]
    assert claims == 1


async def test_an_answer_form_submitted_during_an_outage_gets_try_again_within_slacks_3_s(
    outage: Outage,
    slack: SignedSlack,
    deps: Deps,
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A modal submission writes before it acknowledges, so the "try again" must ride on the
    acknowledgement, within Slack's 3 s; after the outage the same form is saved. On SQLite
    the bot's connections keep the configured busy timeout, longer than Slack waits: what
    answers in time is the shorter wait a write gets before the acknowledgement
    (bot/handlers/context.py WAIT_BEFORE_ACK_SECONDS)."""
    if is_sqlite(database_url):
        assert SQLITE_BUSY_TIMEOUT_MS / 1000 > SLACK_ACK_SECONDS  # the configured value, kept
    before = await snapshot(sessions, skip=())
    with caplog.at_level(logging.ERROR):
        async with outage:
            answer, took = await timed(
                slack.deliver("interactive", answer_form(slack, team_a, "Later"))
            )
            await settle(deps)
        partial = changes(before, await snapshot(sessions, skip=()))
        again = await slack.deliver("interactive", answer_form(slack, team_a, "Later"))
        await settle(deps)
    stored = await answers_to(sessions, team_a.open_tour, team_a.open_questions[1])
    figure(
        f"database faults ({outage.name}): answer form",
        http=answer.status,
        ack_seconds=round(took, 3),
        told_try_again=int(TRY_AGAIN in answer.text),
        rows_changed_during_outage=len(partial),
        escaped=len(escaped(caplog.records)),
        stored_after_recovery=len(stored),
    )
    assert took < SLACK_ACK_SECONDS
    assert answer.status == 200
    assert TRY_AGAIN in answer.text
    assert partial == {}
    assert escaped(caplog.records) == []
    assert again.status == 200
    assert stored == ["Later"]


async def test_the_outbox_worker_rides_out_the_outage_and_sends_each_message_once(
    short_busy_timeout: None,
    outage: Outage,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Twenty messages wait in the outbox when the database goes away; the worker keeps
    failing to claim them, sends nothing, and sends each exactly once when it is back."""
    users = [f"UD{n:02d}" for n in range(20)]
    for user in users:
        fake_slack.add_user(user, user.lower())
    async with sessions.begin() as session:
        await queued_dms(session, people={TEAM_A: users}, tag="outage test", now=clock.now())
    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger="bot.delivery"):
        async with outage:
            worker = asyncio.create_task(deps.delivery.run(stop, poll_every=0.1))
            await asyncio.sleep(1.0)  # the worker keeps trying and failing to claim rows
            sent_during_outage = len(fake_slack.calls_to("chat.postMessage"))
        back = time.monotonic()
        recovered = None
        while time.monotonic() < back + 10:
            async with sessions() as session:
                if await outbox.count_by_status(session) == {OutboxStatus.SENT: len(users)}:
                    recovered = time.monotonic() - back
                    break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(worker, timeout=10)
    failed_passes = [r for r in caplog.records if "outbox pass failed" in r.getMessage()]
    counts = [sum("outage test" in m["text"] for m in fake_slack.dms_to(u)) for u in users]
    figure(
        f"database faults ({outage.name}): outbox worker through a 1 s outage",
        failed_passes=len(failed_passes),
        sent_during_outage=sent_during_outage,
        all_sent_seconds_after=None if recovered is None else round(recovered, 2),
        delivered=sum(1 for n in counts if n),
        lost=counts.count(0),
        duplicated=sum(n - 1 for n in counts if n > 1),
    )
    assert failed_passes  # it did meet the outage
    assert sent_during_outage == 0
    assert counts == [1] * len(users)


# --- PostgreSQL only ---------------------------------------------------------------------------


async def test_a_network_cut_is_answered_within_slacks_3_s_and_recovered_from(
    proxy: TcpProxy,
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Open connections are reset and new ones are accepted but never answered (a cut network,
    a host too busy to answer): only the engine's connect timeout ends each wait. Every
    request is answered within Slack's 3 s: a vote, a DM answer, Slack's retry of an earlier
    DM (which looks for a duplicate before its acknowledgement), and the answer form; all
    succeed once the network is back."""
    vote = f"{team_a.poll}:{team_a.open_theme}"
    earlier = slack.payloads.dm_event("UALICE", "Reviews take days")
    before = await snapshot(sessions, skip=())
    dms_before = len(fake_slack.dms_to("UALICE"))
    with caplog.at_level(logging.ERROR):
        proxy.cut(refuse=False)
        try:
            clicked, click_took = await timed(
                slack.block_action("UBOB", FindingsAction.VOTE, value=vote, channel_id="CTEAM")
            )
            dm, dm_took = await timed(slack.dm("UALICE", "Deploys are slow"))
            retried, retry_took = await timed(
                slack.event(earlier, event_id="EvEARLIER", retry_num=1)
            )
            form, form_took = await timed(
                slack.deliver("interactive", answer_form(slack, team_a, "Later"))
            )
            await settle(deps)
        finally:
            await proxy.restore()
        told_voter = [r["body"]["text"] for r in fake_slack.responses]
        told_dm = [m["text"] for m in fake_slack.dms_to("UALICE")[dms_before:]]
        partial = changes(before, await snapshot(sessions, skip=()))

        clicked_again = await slack.block_action(
            "UBOB", FindingsAction.VOTE, value=vote, channel_id="CTEAM"
        )
        retried_again = await slack.event(earlier, event_id="EvEARLIER", retry_num=2)
        await settle(deps)
        from_dm = await answers_to(sessions, team_a.open_tour, team_a.open_questions[1])
        form_again = await slack.deliver("interactive", answer_form(slack, team_a, "Later"))
        await settle(deps)
    counted = ("UBOB", team_a.open_theme, 1) in await votes(sessions, team_a.poll)
    [with_form] = await answers_to(sessions, team_a.open_tour, team_a.open_questions[1])
    took = {"vote": click_took, "dm": dm_took, "slack_retry": retry_took, "form": form_took}
    figure(
        "database faults (PostgreSQL unreachable, connections unanswered): acks",
        connect_timeout=make_url(deps.settings.database_url).query.get(
            "connect_timeout", POSTGRES_CONNECT_TIMEOUT_S
        ),
        **{f"{name}_ack_seconds": round(seconds, 3) for name, seconds in took.items()},
        slack_retry_http=retried.status,
        connections_held=proxy.held,
        rows_changed_during_outage=len(partial),
        escaped=len(escaped(caplog.records)),
    )
    assert proxy.held > 0  # the bot did try to connect, and was not answered
    assert max(took.values()) < SLACK_ACK_SECONDS
    assert (clicked.status, dm.status, form.status) == (200, 200, 200)
    assert any(TRY_AGAIN in text for text in told_voter), told_voter
    assert any(TRY_AGAIN in text for text in told_dm), told_dm
    assert retried.status == 503  # Slack will deliver it again
    assert TRY_AGAIN in form.text
    assert partial == {}
    assert escaped(caplog.records) == []
    assert (clicked_again.status, retried_again.status, form_again.status) == (200, 200, 200)
    assert counted
    assert from_dm == ["Reviews take days"]
    assert with_form.startswith("Reviews take days")
    assert with_form.endswith("Later")  # the form adds to the answer


async def test_the_server_going_away_at_commit_keeps_nothing_of_the_transaction(
    proxy: TcpProxy,
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The worst moment: the vote's rows (the click's claim, the vote) are written and its
    COMMIT is on the way when the server goes. The server rolls the transaction back; the bot
    says "try again"; the same click, made again, counts once. The same for a DM answer, which
    is already acknowledged by then, so she is told in her DM."""
    vote = f"{team_a.poll}:{team_a.open_theme}"
    before = await snapshot(sessions, skip=())
    dms_before = len(fake_slack.dms_to("UALICE"))
    with caplog.at_level(logging.ERROR):
        proxy.trip = b"COMMIT"
        clicked = await slack.block_action(
            "UBOB", FindingsAction.VOTE, value=vote, channel_id="CTEAM"
        )
        await settle(deps)
        tripped_by_vote = proxy.trip is None
        await proxy.restore()
        proxy.trip = b"COMMIT"
        dm = await slack.dm("UALICE", "Deploys are slow")
        await settle(deps)
        tripped_by_dm = proxy.trip is None
        await proxy.restore()
        told_voter = [r["body"]["text"] for r in fake_slack.responses]
        told_dm = [m["text"] for m in fake_slack.dms_to("UALICE")[dms_before:]]
        partial = changes(before, await snapshot(sessions, skip=()))

        clicked_again = await slack.block_action(
            "UBOB", FindingsAction.VOTE, value=vote, channel_id="CTEAM"
        )
        dm_again = await slack.dm("UALICE", "Deploys are slow")
        await settle(deps)
    counted = ("UBOB", team_a.open_theme, 1) in await votes(sessions, team_a.poll)
    stored = await answers_to(sessions, team_a.open_tour, team_a.open_questions[1])
    figure(
        "database faults (PostgreSQL gone at COMMIT): vote and DM answer",
        tripped=int(tripped_by_vote) + int(tripped_by_dm),
        vote_told_try_again=sum(TRY_AGAIN in t for t in told_voter),
        dm_told_try_again=sum(TRY_AGAIN in t for t in told_dm),
        rows_changed_during_outage=len(partial),
        escaped=len(escaped(caplog.records)),
        vote_counted_after=counted,
        answers_stored_after=len(stored),
    )
    assert tripped_by_vote  # each did reach its COMMIT
    assert tripped_by_dm
    assert (clicked.status, dm.status) == (200, 200)
    assert any(TRY_AGAIN in text for text in told_voter), told_voter
    assert any(TRY_AGAIN in text for text in told_dm), told_dm
    assert partial == {}
    assert escaped(caplog.records) == []
    assert (clicked_again.status, dm_again.status) == (200, 200)
    assert counted
    assert stored == ["Deploys are slow"]


async def test_backends_terminated_by_the_server_are_replaced_without_a_try_again(
    proxy: TcpProxy,
    slack: SignedSlack,
    fake_slack: FakeSlack,
    deps: Deps,
    sessions: async_sessionmaker[AsyncSession],
    team_a: Seeded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An administrator (or a failover) terminates every backend of the database between two
    clicks: the pool's connections are dead but the server is up. The next click must not be
    the one that finds out: the engine checks a connection before lending it (pool_pre_ping)
    and replaces the dead ones."""
    vote = f"{team_a.poll}:{team_a.open_theme}"
    with caplog.at_level(logging.ERROR):
        first = await slack.block_action(
            "UBOB", FindingsAction.VOTE, value=vote, channel_id="CTEAM"
        )
        await settle(deps)
        pool = deps.engine.pool
        assert isinstance(pool, QueuePool)
        pooled = pool.checkedin()
        async with sessions() as session:
            terminated = await session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": BOT_APPLICATION_NAME},
            )
        second = await slack.block_action(
            "UBOB", FindingsAction.VOTE, value=vote, channel_id="CTEAM"
        )
        await settle(deps)
    told = [r["body"]["text"] for r in fake_slack.responses]
    figure(
        "database faults (PostgreSQL backends terminated): next vote",
        pooled_before=pooled,
        terminated=terminated,
        told_try_again=sum(TRY_AGAIN in t for t in told),
        unhandled_logged=len(unhandled(caplog.records)),
        votes_counted=dict(((v, t), n) for v, t, n in await votes(sessions, team_a.poll)).get(
            ("UBOB", team_a.open_theme)
        ),
    )
    assert pooled >= 1
    assert terminated is not None
    assert terminated >= pooled
    assert (first.status, second.status) == (200, 200)
    assert [TRY_AGAIN in t for t in told] == [False, False], told
    assert unhandled(caplog.records) == []
    assert ("UBOB", team_a.open_theme, 2) in await votes(sessions, team_a.poll)
