from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    create_engine,
    database_refuses_writes,
    is_sqlite,
    normalize_database_url,
    write_wait_limit,
)
from bot.models import Answer, ProcessedEvent, Question, Tour, TourStatus

NOW = datetime(2026, 3, 2, tzinfo=UTC)
TOUR = {
    "id": 1,
    "team_id": "T1",
    "leader_id": "U1",
    "title": "t",
    "status": TourStatus.OPEN,
    "opens_at": datetime(2026, 3, 2, tzinfo=UTC),
    "closes_at": datetime(2026, 3, 9, tzinfo=UTC),
    "created_at": datetime(2026, 3, 2, tzinfo=UTC),
    "close_date": datetime(2026, 3, 9, tzinfo=UTC).date(),
}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///./partnerbot.db", "sqlite+aiosqlite:///./partnerbot.db"),
        ("sqlite:////var/lib/pb.db", "sqlite+aiosqlite:////var/lib/pb.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),  # already normalised
        ("postgres://u:p@db:5432/pb", "postgresql+psycopg://u:p@db:5432/pb"),  # Heroku style
        ("postgresql://u:p@db/pb", "postgresql+psycopg://u:p@db/pb"),
        ("postgresql+psycopg2://u@db/pb", "postgresql+psycopg://u@db/pb"),  # sync driver named
        ("postgresql://u:p%40ss@db/pb", "postgresql+psycopg://u:p%40ss@db/pb"),  # escaped @ kept
    ],
)
def test_urls_are_normalised_to_async_drivers(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


def test_unsupported_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="mysql"):
        normalize_database_url("mysql://db/pb")


async def test_datetimes_come_back_aware_utc(sessions: async_sessionmaker[AsyncSession]) -> None:
    eastern = timezone(timedelta(hours=-5))
    stored = datetime(2026, 3, 2, 4, 30, tzinfo=eastern)
    async with sessions.begin() as session:
        session.add(
            ProcessedEvent(event_id="Ev1", team_id="T1", event_type="x", received_at=stored)
        )
    async with sessions() as session:
        loaded = await session.scalar(select(ProcessedEvent.received_at))
    assert loaded == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert loaded is not None
    assert loaded.tzinfo is UTC


async def test_naive_datetimes_are_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with sessions.begin() as session:
            session.add(
                ProcessedEvent(
                    event_id="Ev2", team_id="T1", event_type="x", received_at=datetime(2026, 1, 1)
                )
            )


async def test_sqlite_connections_use_wal_and_a_busy_timeout(
    engine: AsyncEngine, database_url: str
) -> None:
    if not is_sqlite(database_url):
        pytest.skip("SQLite pragmas")
    async with engine.connect() as connection:
        mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        timeout = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    assert mode == "wal"
    assert timeout == 5000


async def test_the_write_probe_passes_on_a_writable_database(engine: AsyncEngine) -> None:
    assert await database_refuses_writes(engine) is None


async def test_the_write_probe_names_an_unreachable_database() -> None:
    dead = create_engine("postgresql://nobody:x@127.0.0.1:1/none")
    assert await database_refuses_writes(dead, timeout=5) == "database unavailable"
    await dead.dispose()


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "NUL\x00inside",  # PostgreSQL text cannot hold NUL as such
        "back\\slash and \\0 written by hand",  # the escape character itself
        "\\\x00\\\\0\x00",  # every combination at once
        "🧑🏽‍💻 الاجتماعات \u202eRTL",  # emoji with ZWJ, Arabic, a right-to-left override
        "x" * 40_000,
    ],
)
async def test_answer_text_round_trips_exactly(
    sessions: async_sessionmaker[AsyncSession], text: str
) -> None:
    async with sessions.begin() as session:
        session.add(Tour(**TOUR))
        await session.flush()
        session.add(Question(tour_id=1, position=0, text="q"))
        await session.flush()
        session.add(Answer(id="a1", tour_id=1, question_id=1, respondent="r", text=text))
    async with sessions() as session:
        assert await session.scalar(select(Answer.text)) == text


async def test_a_unit_of_work_is_run_again_while_sqlite_says_locked() -> None:
    from sqlalchemy.exc import OperationalError

    from bot.db import LOCKED_ATTEMPTS, retry_when_locked

    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < LOCKED_ATTEMPTS:
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
        return "done"

    assert await retry_when_locked(flaky) == "done"
    assert len(calls) == LOCKED_ATTEMPTS

    async def broken() -> str:
        raise OperationalError("SELECT", {}, Exception("no such table: x"))

    with pytest.raises(OperationalError):  # only "locked" is worth another try
        await retry_when_locked(broken)


async def test_read_sessions_begin_deferred_and_write_sessions_immediate(tmp_path: Path) -> None:
    from sqlalchemy import event, text

    from bot.db import create_engine, create_read_session_factory, create_session_factory

    engine = create_engine(f"sqlite:///{tmp_path / 'begin.db'}")
    begun: list[str] = []

    def note(statement: str) -> None:
        if statement.startswith("BEGIN"):
            begun.append(statement)

    # What SQLite itself was asked to run: transactions begin outside SQLAlchemy's statements.
    @event.listens_for(engine.sync_engine, "connect")
    def trace(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.run_async(lambda sqlite: sqlite.set_trace_callback(note))

    async with create_read_session_factory(engine)() as session:
        await session.execute(text("SELECT 1"))
    async with create_session_factory(engine).begin() as session:
        await session.execute(text("SELECT 1"))
    await engine.dispose()
    assert begun == ["BEGIN", "BEGIN IMMEDIATE"]


# --- SQLite writers: one at a time, in order, and a bounded wait ------------------------------


@pytest.fixture
def sqlite_file(database_url: str) -> str:
    if not is_sqlite(database_url):
        pytest.skip("SQLite's write lock")
    return str(make_url(database_url).database)


async def test_this_processs_writers_take_the_lock_in_the_order_they_asked(
    sqlite_file: str, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Five writers at once, each holding the lock across trips through the event loop: they
    commit in the order they asked (SQLite's busy handler alone lets them race for it)."""
    warm = [await engine.connect() for _ in range(5)]  # the pool's five, so none waits to connect
    for connection in warm:
        await connection.close()
    order: list[int] = []

    async def write(number: int) -> None:
        async with sessions.begin() as session:
            await session.execute(text("SELECT 1"))  # BEGIN IMMEDIATE has run: the lock is ours
            for _ in range(3):
                await asyncio.sleep(0)
            session.add(
                ProcessedEvent(
                    event_id=f"EvW{number:02d}", team_id="T1", event_type="x", received_at=NOW
                )
            )
            order.append(number)

    await asyncio.gather(*(write(number) for number in range(5)))
    assert order == list(range(5))
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedEvent)) == 5


async def test_a_write_gives_up_on_another_processs_lock_within_its_limit(
    sqlite_file: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Before Slack's ack a write may wait 2 s, not the 5 s busy timeout; afterwards, in the
    same task, the usual wait (and the connection's busy timeout) is back."""
    holder = sqlite3.connect(sqlite_file, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    token = write_wait_limit.set(lambda: 0.5)
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            async with sessions.begin() as session:
                await session.execute(text("SELECT 1"))
        waited = time.monotonic() - started
    finally:
        write_wait_limit.reset(token)
        holder.execute("ROLLBACK")
        holder.close()
    assert 0.35 <= waited < 1.5  # its own limit, far from SQLITE_BUSY_TIMEOUT_MS
    async with sessions.begin() as session:  # the lock is free again: writes go on
        await session.execute(text("SELECT 1"))
        busy = (await session.execute(text("PRAGMA busy_timeout"))).scalar()
    assert busy == SQLITE_BUSY_TIMEOUT_MS


async def test_a_second_write_session_in_the_same_task_fails_instead_of_waiting_forever(
    sqlite_file: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A bug that nests two write transactions in one task cannot take the in-process queue
    it already holds: it fails like SQLite's own lock would, after the limit."""
    token = write_wait_limit.set(lambda: 0.2)
    try:
        async with sessions.begin() as outer:
            await outer.execute(text("SELECT 1"))
            with pytest.raises(OperationalError, match="database is locked"):
                async with sessions.begin() as inner:
                    await inner.execute(text("SELECT 1"))
    finally:
        write_wait_limit.reset(token)


async def test_a_sqlite_statement_is_one_trip_to_the_connections_thread(
    sqlite_file: str, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows, row counts and generated ids all come back from one hand-off to aiosqlite's
    thread per statement (the stock adapter takes three or four)."""
    trips: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, function: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(function, "__name__", "?"))
        return await original(self, function, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    async with engine.begin() as connection:
        await connection.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE and the like
        trips.clear()
        inserted = await connection.execute(
            insert(ProcessedEvent).returning(ProcessedEvent.event_id),
            {"event_id": "EvT1", "team_id": "T1", "event_type": "x", "received_at": NOW},
        )
        assert inserted.scalar_one() == "EvT1"
        changed = await connection.execute(
            update(ProcessedEvent).where(ProcessedEvent.team_id == "T1").values(event_type="y")
        )
        assert changed.rowcount == 1
        rows = (await connection.execute(select(ProcessedEvent.event_type))).all()
        assert [tuple(row) for row in rows] == [("y",)]
    assert trips[: trips.index("commit")] == ["_execute"] * 3  # one trip a statement


async def test_a_write_before_the_ack_waits_its_whole_limit_when_nothing_queued_before_it(
    sqlite_file: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The limit is split between this process's queue and SQLite's busy handler only when
    the queue took some of it: the setting stays put from one such write to the next."""
    token = write_wait_limit.set(lambda: 2.0)
    try:
        for _ in range(2):
            async with sessions.begin() as session:
                busy = (await session.execute(text("PRAGMA busy_timeout"))).scalar()
            assert busy == 2000
    finally:
        write_wait_limit.reset(token)
