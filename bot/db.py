"""Database engine and session factory for SQLite (aiosqlite) and PostgreSQL (psycopg 3).

URLs are normalised to their async drivers; SQLite connections get WAL, a busy timeout and
`BEGIN IMMEDIATE` transactions so the one process that writes never hits a lock-upgrade deadlock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 5000


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
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A destroyed tour key or cleared timestamp must not linger in free pages of the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writers take the lock up front, so a transaction never fails half-way trying to
        # upgrade a read lock; a session made for reading only (see `create_read_session_factory`)
        # begins deferred and, with WAL, never waits for the writers.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # A database error's message would otherwise carry the statement's values (answer text)
    # into the logs, next to the user id every log line has.
    kwargs.setdefault("hide_parameters", True)
    normalized = normalize_database_url(url)
    if make_url(normalized).get_backend_name() == "sqlite":
        engine = create_async_engine(normalized, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
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


async def database_answers(engine: AsyncEngine, *, timeout: float = 2.0) -> bool:
    """True when a trivial query succeeds in time; used by /healthz."""
    try:
        async with asyncio.timeout(timeout), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError):
        return False
    return True
