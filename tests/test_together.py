"""Units of statements run together (bot/store/together.py): on SQLite straight on the
connection's thread, elsewhere through SQLAlchemy; the same rows either way."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import String, bindparam, cast, event, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import bot.db
import bot.sqlite_driver
from bot.db import create_engine, is_sqlite
from bot.models import ProcessedEvent
from bot.store import dm_answers
from bot.store.events import EventClaim
from bot.store.together import Run, run_together, write_together

NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
_RETYPE = (
    update(ProcessedEvent)
    .where(ProcessedEvent.team_id == bindparam("team"))
    .values(event_type=bindparam("kind"))
)
_KINDS = select(ProcessedEvent.event_id, ProcessedEvent.event_type).order_by(
    ProcessedEvent.event_id
)


def claim(event_id: str, team_id: str = "T1") -> EventClaim:
    return EventClaim(event_id, team_id, "message", NOW)


def note_two_events(run: Run) -> list[tuple[Any, ...]]:
    assert dm_answers.claim_event(run, claim("Ev1"))
    assert dm_answers.claim_event(run, claim("Ev2", team_id="T2"))
    assert not dm_answers.claim_event(run, claim("Ev1"))  # already there: nothing inserted
    assert run(_RETYPE, {"team": "T1", "kind": "app_mention"}).rowcount == 1
    return run(_KINDS, {}).rows


async def test_a_unit_writes_and_reads_what_sqlalchemy_would(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions.begin() as session:  # the same instant, written by the ORM
        session.add(ProcessedEvent(event_id="Ev0", team_id="T0", event_type="x", received_at=NOW))
    async with engine.connect() as connection:
        rows = await write_together(connection, note_two_events)
        read_again = await run_together(connection, lambda run: run(_KINDS, {}).rows)
    assert rows == read_again == [("Ev0", "x"), ("Ev1", "app_mention"), ("Ev2", "message")]
    async with sessions() as session:
        stored = (await session.scalars(select(ProcessedEvent).order_by(ProcessedEvent.id))).all()
        as_text = (await session.scalars(select(cast(ProcessedEvent.received_at, String)))).all()
    assert [row.received_at for row in stored] == [NOW] * 3
    # Stored exactly as SQLAlchemy stores it (SQLite compares datetimes as text).
    assert len(set(as_text)) == 1


async def test_a_unit_that_fails_writes_nothing_and_lets_the_next_writer_in(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    def half_then_fail(run: Run) -> None:
        dm_answers.claim_event(run, claim("Ev1"))
        raise RuntimeError("something went wrong half-way")

    async with engine.connect() as connection:
        with pytest.raises(RuntimeError, match="half-way"):
            await write_together(connection, half_then_fail)
    async with asyncio.timeout(2), engine.connect() as connection:  # the write turn was let go
        await write_together(connection, lambda run: dm_answers.claim_event(run, claim("Ev2")))
    async with sessions() as session:
        assert (await session.scalars(select(ProcessedEvent.event_id))).all() == ["Ev2"]


async def test_a_database_error_in_a_unit_is_sqlalchemys(engine: AsyncEngine) -> None:
    duplicate = ProcessedEvent.__table__.insert()

    def insert_twice(run: Run) -> None:
        for _ in range(2):
            run(duplicate, {**claim("Ev1")._asdict(), "id": 7})

    async with engine.connect() as connection:
        with pytest.raises(IntegrityError):
            await write_together(connection, insert_twice)


@pytest.fixture
def sqlite_engine(engine: AsyncEngine, database_url: str) -> AsyncEngine:
    if not is_sqlite(database_url):
        pytest.skip("aiosqlite's thread")
    return engine


async def test_on_sqlite_a_write_unit_is_one_trip_to_the_connections_thread(
    sqlite_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BEGIN IMMEDIATE, the unit's statements and COMMIT: one hand-off to aiosqlite's thread,
    so SQLite's write lock is not held across trips through the event loop."""
    trips: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, function: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(function, "__name__", "?"))
        return await original(self, function, *args, **kwargs)

    async with sqlite_engine.connect() as connection:
        await connection.get_raw_connection()  # opened before counting
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        await write_together(connection, note_two_events)
        await run_together(connection, lambda run: run(_KINDS, {}).rows)
    assert trips == ["on_thread", "on_thread"]


async def test_on_sqlite_a_burst_of_requests_reuses_the_connections_of_the_last(
    sqlite_engine: AsyncEngine,
) -> None:
    """Opening a SQLite connection (a thread, the file, the PRAGMAs) costs a dozen statements;
    the pool keeps enough for a burst instead of opening and closing one per request."""
    opened: list[object] = []
    event.listen(sqlite_engine.sync_engine, "connect", lambda *_: opened.append(1))

    async def request(_: int) -> None:
        async with sqlite_engine.connect() as connection:
            await run_together(connection, lambda run: run(_KINDS, {}).rows)
            await asyncio.sleep(0)  # everyone holds a connection at once

    for _ in range(3):
        await asyncio.gather(*(request(n) for n in range(20)))
    assert len(opened) <= 20


def tracing(trace: Callable[[str], None]) -> Callable[[Any, Any], None]:
    """A connect listener: `trace` hears every statement SQLite itself is asked to run."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(lambda sqlite: sqlite.set_trace_callback(trace))

    return on_connect


async def test_on_sqlite_a_cancelled_begin_leaves_no_connection_holding_the_write_lock(
    tmp_path: Path,
) -> None:
    """A request cancelled while its BEGIN IMMEDIATE waits for another process's lock (a
    /healthz check giving up, say): aiosqlite's thread still takes the lock when it frees, so
    the connection must not go back to the pool until the thread is done and rolled back."""
    path = tmp_path / "cancel.db"
    engine = create_engine(f"sqlite:///{path}", pool_size=1, max_overflow=0)
    started = threading.Event()

    def trace(statement: str) -> None:
        if statement == "BEGIN IMMEDIATE":
            started.set()

    event.listen(engine.sync_engine, "connect", tracing(trace))
    async with engine.connect() as connection:  # opened (and in WAL mode) before the lock
        await connection.exec_driver_sql("SELECT 1")
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")
    try:

        async def write() -> None:
            async with engine.begin() as connection:
                await connection.exec_driver_sql("SELECT 1")

        task = asyncio.create_task(write())
        assert await asyncio.to_thread(started.wait, 5)  # in SQLite's busy handler now
        task.cancel()
        other_process.execute("COMMIT")
        with pytest.raises(asyncio.CancelledError):
            await task
        async with asyncio.timeout(5), engine.begin() as connection:  # the pool's only one
            await connection.exec_driver_sql("CREATE TABLE written (x)")
        other_process.execute("BEGIN IMMEDIATE")  # nobody holds the lock: no wait at all
        other_process.execute("ROLLBACK")
    finally:
        other_process.close()
        await engine.dispose()


async def test_on_sqlite_a_connection_that_died_is_replaced(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'dead.db'}", pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            await raw.driver_connection.close()  # type: ignore[union-attr]
        with pytest.raises(OperationalError, match="no active connection"):
            async with engine.begin() as connection:
                await connection.exec_driver_sql("SELECT 1")
        async with engine.connect() as connection:  # a new connection, from then on
            assert (await connection.exec_driver_sql("SELECT 1")).scalar() == 1
        async with engine.connect() as connection:
            await run_together(connection, lambda run: run(select(1), {}).rows)
    finally:
        await engine.dispose()


async def test_a_unit_that_only_reads_does_not_wait_for_the_writers_without_the_one_trip_adapter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where SQLAlchemy's or aiosqlite's internals changed and the stock adapter is used, a
    unit in a transaction of its own still begins deferred, as a read should."""
    monkeypatch.setattr(bot.db, "one_trip_dbapi", lambda: None)
    engine = create_engine(f"sqlite:///{tmp_path / 'stock.db'}")
    begun: list[str] = []

    def trace(statement: str) -> None:
        if statement.startswith("BEGIN"):
            begun.append(statement)

    event.listen(engine.sync_engine, "connect", tracing(trace))
    try:
        async with engine.connect() as connection:
            assert await run_together(connection, lambda run: run(select(1), {}).rows) == [(1,)]
            await write_together(connection, lambda run: run(select(2), {}).rows)
    finally:
        await engine.dispose()
    assert begun == ["BEGIN", "BEGIN IMMEDIATE"]


@pytest.mark.parametrize(
    ("package", "version", "one_trip"),
    [
        ("sqlalchemy", "2.1.9", True),
        ("sqlalchemy", "2.2.0", False),
        ("sqlalchemy", "2.0.36", False),
        ("aiosqlite", "0.22.1", True),
        ("aiosqlite", "0.23.0", False),
    ],
)
async def test_the_one_trip_adapter_is_used_only_on_the_releases_it_was_checked_against(
    package: str,
    version: str,
    one_trip: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The start-up self-check: on a release of SQLAlchemy or aiosqlite whose internals were not
    read, the engine falls back to the stock adapter and says so once, however many engines
    are made; a unit of statements still writes and reads."""
    installed = bot.sqlite_driver.installed_version
    monkeypatch.setattr(
        bot.sqlite_driver,
        "installed_version",
        lambda name: version if name == package else installed(name),
    )
    bot.sqlite_driver._fall_back_once.cache_clear()
    engines = [create_engine(f"sqlite:///{tmp_path / f'check{n}.db'}") for n in (1, 2)]
    try:
        for engine in engines:
            async with engine.begin() as connection:
                await connection.run_sync(ProcessedEvent.metadata.create_all)
            async with engine.connect() as connection:
                raw = await connection.get_raw_connection()
                adapted = isinstance(raw.dbapi_connection, bot.sqlite_driver.OneTripConnection)
                assert adapted is one_trip
                await write_together(
                    connection, lambda run: dm_answers.claim_event(run, claim("E"))
                )
                assert await run_together(connection, lambda run: run(_KINDS, {}).rows) == [
                    ("E", "message")
                ]
    finally:
        for engine in engines:
            await engine.dispose()
    warned = [r for r in caplog.records if "one-trip adapter is off" in r.getMessage()]
    assert len(warned) == (0 if one_trip else 1)
    if warned:
        assert f"{package} {version}" in warned[0].getMessage()
