"""Database engine and session factory for SQLite (aiosqlite) and PostgreSQL (psycopg 3).

URLs are normalised to their async drivers; SQLite connections get WAL, a busy timeout and
`BEGIN IMMEDIATE` transactions so the one process that writes never hits a lock-upgrade deadlock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

from bot.sqlite_driver import OneTripConnection, as_sqlalchemy_error, one_trip_dbapi

SQLITE_BUSY_TIMEOUT_MS = 5000
# Connections kept open to a SQLite file, and how many more a burst may open for a while. Each
# is a thread of aiosqlite's and a file handle; opening one (a thread, the file, the schema, the
# PRAGMAs) costs as much as a dozen statements, and SQLAlchemy's default pool of 5 had every
# request past the fifth in flight open and close its own.
SQLITE_POOL_SIZE = 32
SQLITE_POOL_OVERFLOW = 32
# What the connection's busy timeout is now, and what it was opened with (connection info keys).
BUSY_MS, DEFAULT_BUSY_MS = "partnerbot_busy_ms", "partnerbot_default_busy_ms"


def _no_limit() -> float | None:
    return None


# The longest, in seconds, a write transaction begun in this context may wait for SQLite's
# write lock (None: the busy timeout). A function, read as the transaction begins: work done
# before Slack's acknowledgement must give up in time to answer within Slack's 3 s, and the
# same listener's work after the acknowledgement may wait the usual while.
write_wait_limit: ContextVar[Callable[[], float | None]] = ContextVar(
    "write_wait_limit", default=_no_limit
)
# Whole seconds (libpq counts no finer, and psycopg takes anything under 2 as 2).
POSTGRES_CONNECT_TIMEOUT_S = 2


def normalize_database_url(url: str) -> str:
    """Map the spellings people paste (postgres://, sqlite:///) to the async drivers we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if parsed.drivername in {"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"}:
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}")


def is_sqlite(url: str) -> bool:
    return make_url(normalize_database_url(url)).get_backend_name() == "sqlite"


def _configure_sqlite(engine: AsyncEngine) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot do BEGIN IMMEDIATE; take it
    # over, as SQLAlchemy's SQLite documentation recommends for aiosqlite.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        record.info[BUSY_MS] = record.info[DEFAULT_BUSY_MS] = SQLITE_BUSY_TIMEOUT_MS
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A destroyed tour key or cleared timestamp must not linger in free pages of the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    writers = WriterQueue()
    _writers[engine.sync_engine] = writers

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writers take the lock up front, so a transaction never fails half-way trying to
        # upgrade a read lock; a session made for reading only (see `create_read_session_factory`)
        # begins deferred and, with WAL, never waits for the writers.
        if connection.get_execution_options().get(READ_ONLY):
            _run_directly(connection, "BEGIN")
            return
        info = connection.connection.info
        turn = await_only(writers.take_turn(info))
        try:
            _run_directly(connection, *turn.statements)
        except BaseException:
            writers.leave(info)
            raise
        turn.began()

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def _on_end(connection: Connection) -> None:
        if connection.invalidated:
            return  # its pool record lets go of the queue when it is checked in
        writers.leave(connection.connection.info)

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        writers.leave(record.info)  # a connection dropped mid-transaction (invalidated, say)


def _run_directly(connection: Connection, *statements: str) -> None:
    """Run statements that return nothing (BEGIN, a PRAGMA) in one trip to the connection's
    thread, without SQLAlchemy's statement machinery: every transaction begins this way."""
    adapted: object = connection.connection.dbapi_connection
    if not isinstance(adapted, OneTripConnection):
        for statement in statements:
            connection.exec_driver_sql(statement)
        return

    def run(sqlite: sqlite3.Connection) -> None:
        for statement in statements:
            sqlite.execute(statement)

    try:
        await_only(adapted.run_on_thread(run))
    except sqlite3.Error as error:
        dead = connection.dialect.is_disconnect(error, None, None)  # type: ignore[arg-type]
        if dead:
            connection.invalidate()  # the pool opens a new one for the next request
        raise as_sqlalchemy_error(error, "; ".join(statements), invalidated=dead) from error


class WriterQueue:
    """This process's SQLite writers, one at a time and first come, first served.

    SQLite's own busy handler is not a queue: a writer that finds the lock taken sleeps 1, 2, 5,
    10 ... up to 100 ms and tries again, so under a burst the lock sits free while everyone
    sleeps, and an unlucky writer can lose every race for the whole busy timeout. Writers of
    this process therefore wait here, in order, and reach `BEGIN IMMEDIATE` one by one; the
    busy handler is left with other processes (a `partnerbot tick`, a backup), as before.
    The lock is let go as the transaction's COMMIT or ROLLBACK starts: the next writer's BEGIN
    may then wait a millisecond in the busy handler, which is cheaper than one more trip
    through the event loop."""

    HELD = "partnerbot_holds_writer_lock"

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _current(self) -> asyncio.Lock:
        # One engine can outlive an event loop (tests, `partnerbot` commands); a lock belongs
        # to the loop it was first awaited in.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    async def take_turn(self, info: dict[Any, Any]) -> WriteTurn:
        """Wait for this process's other writers, as long as `write_wait_limit` allows, on
        behalf of the connection whose pool record holds `info`; then the statements that
        begin its transaction. The caller runs them and calls `began()`, or `leave(info)`."""
        wait_ms = info.get(DEFAULT_BUSY_MS, SQLITE_BUSY_TIMEOUT_MS)
        limit = write_wait_limit.get()()
        if limit is not None:
            wait_ms = min(wait_ms, round(limit * 1000))
        started = time.monotonic()
        await self._enter(info, timeout=wait_ms / 1000)
        waited_ms = (time.monotonic() - started) * 1000
        if limit is not None and waited_ms >= 100:
            # What is left of the limit is what SQLite may wait for another process (in
            # steps of 100 ms, so that the setting rarely changes).
            wait_ms = max(100, int((wait_ms - waited_ms) // 100 * 100))
        if info.get(BUSY_MS) == wait_ms:
            return WriteTurn(info, wait_ms, ("BEGIN IMMEDIATE",))
        # Unknown if the statements fail part-way: the next transaction then sets it again.
        info.pop(BUSY_MS, None)
        return WriteTurn(info, wait_ms, (f"PRAGMA busy_timeout={wait_ms}", "BEGIN IMMEDIATE"))

    async def _enter(self, info: dict[Any, Any], *, timeout: float) -> None:
        if self.HELD in info:
            return
        lock = self._current()
        try:
            await _acquire(lock, timeout)
        except TimeoutError:
            # The same failure, after the same wait, as SQLite's busy handler gives.
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            ) from None
        info[self.HELD] = lock

    def leave(self, info: dict[Any, Any]) -> None:
        lock = info.pop(self.HELD, None)
        if lock is not None and lock.locked():
            lock.release()


@dataclass(frozen=True)
class WriteTurn:
    """This process's turn to write on one connection: the statements that begin it."""

    info: dict[Any, Any]
    busy_ms: int
    statements: tuple[str, ...]

    def began(self) -> None:
        self.info[BUSY_MS] = self.busy_ms


_writers: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()


def sqlite_writers(engine: AsyncEngine) -> WriterQueue | None:
    """The queue this process's writers to a SQLite engine's file wait in (None: PostgreSQL)."""
    return _writers.get(engine.sync_engine)


async def _acquire(lock: asyncio.Lock, timeout: float) -> None:
    # Bounded even when the lock looks free: it may be between its release and the next
    # waiter's wake-up, when a newcomer queues behind every waiter.
    async with asyncio.timeout(timeout):
        await lock.acquire()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # A database error's message would otherwise carry the statement's values (answer text)
    # into the logs, next to the user id every log line has.
    kwargs.setdefault("hide_parameters", True)
    normalized = normalize_database_url(url)
    if make_url(normalized).get_backend_name() == "sqlite":
        dbapi = one_trip_dbapi()
        if dbapi is not None:
            kwargs.setdefault("module", dbapi)
        if make_url(normalized).database not in (None, "", ":memory:"):
            kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
            kwargs.setdefault("max_overflow", SQLITE_POOL_OVERFLOW)
        engine = create_async_engine(normalized, **kwargs)
        _configure_sqlite(engine)
        return engine
    # A pooled connection the server has dropped (a restart, a terminated backend) is found
    # and replaced when it is lent out, not by the request that uses it.
    kwargs.setdefault("pool_pre_ping", True)
    if "connect_timeout" not in make_url(normalized).query:
        # psycopg waits 130 s for a server that does not answer; a request that needs a new
        # connection before Slack's acknowledgement must fail within Slack's 3 s instead.
        kwargs["connect_args"] = {
            "connect_timeout": POSTGRES_CONNECT_TIMEOUT_S,
            **kwargs.get("connect_args", {}),
        }
    return create_async_engine(normalized, **kwargs)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


READ_ONLY = "partnerbot_read_only"
LOCKED_ATTEMPTS = 3

T = TypeVar("T")


async def retry_when_locked(unit: Callable[[], Awaitable[T]]) -> T:
    """Run a unit of work again when SQLite said "database is locked": its busy handler is not
    fair, so under a burst of writers one can lose the race for the whole busy timeout. The
    unit must be a whole transaction (it is rolled back before the next attempt)."""
    for attempt in range(1, LOCKED_ATTEMPTS + 1):
        try:
            return await unit()
        except OperationalError as error:
            if "database is locked" not in str(error.orig) or attempt == LOCKED_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads that must not queue behind writers (work done before Slack's ack).
    On SQLite they begin deferred; never write through them."""
    return async_sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


# How long a truncating checkpoint keeps trying while readers hold older snapshots.
SCRUB_ATTEMPTS = 10
SCRUB_BUSY_S = 1.0
SCRUB_PAUSE_S = 0.25

log = logging.getLogger(__name__)


async def scrub_deleted(engine: AsyncEngine) -> bool:
    """Call right after a transaction that deleted something that must be gone from the
    disk (an anonymous tour's key, a closed poll's voters) has committed. On SQLite,
    `secure_delete` zeroes deleted rows in the pages they leave, but the pages as they were
    are still in the write-ahead log, and the log is only rewritten from its start, never
    shortened: this copies every committed page into the database file and truncates the log
    to nothing (`wal_checkpoint(TRUNCATE)`). That cannot finish while another connection
    reads an older snapshot, so it tries again for a few seconds. False (and an error in the
    log) when it did not finish. PostgreSQL: nothing to do here (see docs/THREAT-MODEL.md for
    what the operator must know)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return True
    path = str(url.database)
    done = await asyncio.to_thread(_truncate_wal, path)
    if done:
        log.info("the SQLite write-ahead log is emptied: deleted rows are gone from the files")
    else:
        log.error(
            "the SQLite write-ahead log could not be emptied: deleted keys may stay in %s-wal "
            "until it is; look for a process keeping a read transaction open",
            path,
        )
    return done


# The first key of PostgreSQL's two-key advisory locks that are ours ("Pb"), the second naming
# the work: `exclusive(engine, TICK_LOCK)`, or a tour's id for its grouping.
ADVISORY_NAMESPACE = 0x5062
TICK_LOCK = -1
LAUNCHES_LOCK = -2


@asynccontextmanager
async def exclusive(engine: AsyncEngine, key: int) -> AsyncIterator[bool]:
    """Whether this process may do the work named by `key` now, no other process of the
    deployment doing it meanwhile: on PostgreSQL, where worker replicas run side by side, a
    session advisory lock tried (never waited for) on a connection held until the block ends,
    and released by the server if the process dies; on SQLite, where one process does
    everything, always True."""
    if engine.url.get_backend_name() == "sqlite":
        yield True
        return
    async with engine.connect() as connection:
        statement = text("SELECT pg_try_advisory_lock(:space, :key)")
        taken = bool(await connection.scalar(statement, {"space": ADVISORY_NAMESPACE, "key": key}))
        await connection.commit()  # the lock is the session's: no transaction held open
        try:
            yield taken
        finally:
            if taken:
                await _unlock(connection, key)


async def _unlock(connection: AsyncConnection, key: int) -> None:
    unlock = text("SELECT pg_advisory_unlock(:space, :key)")
    try:
        await connection.scalar(unlock, {"space": ADVISORY_NAMESPACE, "key": key})
        await connection.commit()
    except SQLAlchemyError:
        # Never back into the pool still holding the lock: the server frees it with the session.
        await connection.invalidate()
        raise


def _truncate_wal(path: str) -> bool:
    # A connection of its own, outside the pool: a checkpoint cannot run inside a
    # transaction, and every pooled connection's statements begin one (see `_configure_sqlite`).
    connection = sqlite3.connect(
        path, timeout=SCRUB_BUSY_S, isolation_level=None, uri=path.startswith("file:")
    )
    try:
        for _ in range(SCRUB_ATTEMPTS):
            busy, _log_frames, _copied = connection.execute(
                "PRAGMA wal_checkpoint(TRUNCATE)"
            ).fetchone()
            if not busy:
                return True
            time.sleep(SCRUB_PAUSE_S)  # a reader's snapshot is in the way: let it finish
        return False
    except sqlite3.OperationalError:
        return False  # locked for the whole busy timeout
    finally:
        connection.close()


# /healthz says a SQLite file's disk is full below this much free space: SQLite keeps an
# uncommitted change in memory, so a rolled-back write alone does not show a full disk.
MIN_FREE_BYTES = 8 * 1024 * 1024
# A write that changes nothing, rolled back: it fails on a read-only file, a read-only
# (standby, `default_transaction_read_only`) PostgreSQL or a SQLite file opened query-only.
WRITE_PROBE = "UPDATE alembic_version SET version_num = version_num"


def free_bytes_beside(path: str) -> int | None:
    """Free space (for an unprivileged user) on the file system holding `path`'s folder; one
    statvfs call, which does not wait on the disk. `path` may be a SQLite URI (file:...)."""
    path = path.removeprefix("file:").split("?", 1)[0]
    try:
        stats = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


async def database_refuses_writes(engine: AsyncEngine, *, timeout: float = 2.0) -> str | None:
    """Why the database would refuse a write now (a short reason for /healthz), or None when
    it accepts one. Cheap and bounded: one rolled-back no-op UPDATE and, on SQLite, the free
    space of the file's folder."""
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:"):
        free = free_bytes_beside(database)
        if free is None:
            return "database folder unreadable"
        if free < MIN_FREE_BYTES:
            return "no free disk space"
    limited = write_wait_limit.set(lambda: timeout)
    try:
        async with asyncio.timeout(timeout), engine.connect() as connection:
            transaction = await connection.begin()
            try:
                await connection.execute(text(WRITE_PROBE))
            finally:
                await transaction.rollback()
    except TimeoutError:
        return "database did not answer in time"
    except (SQLAlchemyError, OSError) as error:
        reason = str(getattr(error, "orig", None) or error).lower()
        if "readonly" in reason or "read-only" in reason or "query_only" in reason:
            return "database is read-only"
        if "full" in reason or "no space" in reason:
            return "no free disk space"
        return "database unavailable"
    finally:
        write_wait_limit.reset(limited)
    return None
