"""SQLAlchemy's aiosqlite adapter with one trip to the connection's thread per statement: the
one module that touches SQLAlchemy's and aiosqlite's private attributes.

aiosqlite runs each sqlite3 call on the connection's own thread, and SQLAlchemy's adapter makes
three or four such calls per statement (open a cursor, execute, fetch the rows, close it). Each
trip is a hand-off to the thread and back through the event loop, and under load that hand-off,
not SQLite, is most of a statement's time — time a writer spends holding SQLite's one write
lock. Here the whole statement (cursor, execute, fetch, close) is one function run on that
thread, and the adapter reads the finished result.

The same thread also runs a whole unit of statements at once (`OneTripConnection.run_on_thread`
with `RawStatements`): the DM answer path reads, and later writes, in one trip each
(bot/store/together.py, which touches no private attribute itself).

What this leans on, checked against the versions in `CHECKED_AGAINST` (SQLAlchemy 2.1.9,
aiosqlite 0.22.1): SQLAlchemy's `AsyncAdapt_aiosqlite_cursor` (`_adapt_connection`,
`_connection`, `_cursor`, `_rows`, `_soft_closed_memoized`, `_execute_async`,
`_executemany_async`, `_awaitable_cursor_close`), `AsyncAdapt_aiosqlite_connection`
(`_cursor_cls`, `_execute_mutex`, `_connection`) and `AsyncAdapt_aiosqlite_dbapi`; aiosqlite's
`Connection._execute` and `Connection._conn`; and a compiled statement's `positiontup`, `binds`
and `construct_params`. `one_trip_dbapi()` runs the self-check at start (each engine asks): on
other versions, or with any of these missing, it logs one warning and returns None, and the
engine uses the stock adapter (every path still works, the DM answer a little slower).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import importlib.metadata
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar, cast

import aiosqlite
from sqlalchemy.dialects.sqlite import aiosqlite as sa_aiosqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

T = TypeVar("T")

log = logging.getLogger("bot.sqlite_driver")

# The releases (major.minor.patch prefixes) whose internals this module was read against. A
# release outside them turns the adapter off until someone has read the new internals, run
# tests/test_together.py and added it here.
CHECKED_AGAINST: dict[str, tuple[str, ...]] = {
    "sqlalchemy": ("2.1.",),
    "aiosqlite": ("0.20.", "0.21.", "0.22."),
}


class _Finished:
    """What the adapter reads from a cursor once its statement has run: the cursor itself
    was closed on the connection's thread."""

    __slots__ = ("description", "lastrowid", "rowcount")
    arraysize = 1  # DB-API's default batch for fetchmany(), which reads the rows held

    def __init__(self, description: Any = None, rowcount: int = -1, lastrowid: Any = None) -> None:
        self.description = description
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    @classmethod
    def of(cls, cursor: sqlite3.Cursor) -> _Finished:
        return cls(cursor.description, cursor.rowcount, cursor.lastrowid)

    def close(self) -> None:
        """Already closed where it ran."""


def _execute(
    connection: sqlite3.Connection, operation: str, parameters: Any
) -> tuple[_Finished, list[Any]]:
    cursor = connection.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return _Finished.of(cursor), rows
    finally:
        cursor.close()


def _executemany(
    connection: sqlite3.Connection, operation: str, seq_of_parameters: Sequence[Any]
) -> _Finished:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, seq_of_parameters)
        return _Finished.of(cursor)
    finally:
        cursor.close()


class OneTripCursor(sa_aiosqlite.AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: Any) -> None:
        # The stock __init__ opens an aiosqlite cursor: a trip to the thread for nothing.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = _Finished()  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            finished, rows = await self._connection._execute(
                _execute,
                self._connection._conn,
                operation,
                parameters,
            )
        self._cursor = finished
        self._rows = collections.deque(rows)
        return None

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            self._cursor = await self._connection._execute(
                _executemany,
                self._connection._conn,
                operation,
                seq_of_parameters,
            )
        return None


class OneTripConnection(sa_aiosqlite.AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor

    def _idle(self) -> bool:
        # sqlite3 reads this flag without a lock or a statement; SQLite itself keeps it.
        try:
            return not self._connection._conn.in_transaction
        except (ValueError, sqlite3.ProgrammingError):
            return False  # closed: the stock adapter knows what to do (nothing)

    async def run_on_thread(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` with the sqlite3 connection on its own thread: a unit of statements for
        one trip there and back, in turn with this connection's other statements.

        A cancelled caller still waits for the thread, which finishes what it started whatever
        happens here, and then rolls back a transaction left open: the connection goes back to
        the pool, and SQLite's write lock to the next writer, only once SQLite is done. A
        closed connection raises sqlite3's OperationalError, as the stock adapter does, which
        SQLAlchemy's dialect recognises as a disconnect."""
        async with self._execute_mutex:
            try:
                trip = asyncio.ensure_future(
                    self._connection._execute(work, self._connection._conn)
                )
                return cast(T, await asyncio.shield(trip))
            except asyncio.CancelledError:
                await _wait_out(trip)
                with contextlib.suppress(ValueError):  # closed meanwhile: nothing is open
                    sqlite = self._connection._conn
                    await _wait_out(
                        asyncio.ensure_future(self._connection._execute(_roll_back, sqlite))
                    )
                raise
            except ValueError as error:
                if str(error).lower() in ("no active connection", "connection closed"):
                    raise sqlite3.OperationalError(str(error)) from error
                raise

    def rollback(self) -> None:
        # The pool rolls back every connection it is handed back, most of them after a COMMIT:
        # with no transaction open there is nothing to roll back, and no trip to make.
        if not self._idle():
            super().rollback()

    def commit(self) -> None:
        if not self._idle():
            super().commit()


def _roll_back(sqlite: sqlite3.Connection) -> None:
    if sqlite.in_transaction:
        sqlite.rollback()


async def _wait_out(future: asyncio.Future[Any]) -> None:
    """Wait for `future` however often the waiting task is cancelled meanwhile; what it gives
    back, or raises, is not wanted."""
    while not future.done():
        try:
            await asyncio.shield(future)
        except BaseException:  # noqa: S112 - cancelled again, or the future's own failure
            continue
    if not future.cancelled():
        future.exception()  # retrieved: no "exception was never retrieved" at exit


class OneTripDBAPI(sa_aiosqlite.AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        stock = super().connect(*arg, **kw)
        return OneTripConnection(self, stock._connection)


def one_trip_dbapi() -> OneTripDBAPI | None:
    """The adapter for `create_async_engine(module=...)`, or None where the self-check finds the
    libraries are not the ones this was checked against (the stock adapter is then used, and
    the reason is logged once per process)."""
    reason = self_check()
    if reason is not None:
        _fall_back_once(reason)
        return None
    return OneTripDBAPI(aiosqlite, sqlite3)


def installed_version(package: str) -> str:
    return importlib.metadata.version(package)


def self_check() -> str | None:
    """Why the one-trip adapter must not be used here, or None when it may: the installed
    SQLAlchemy and aiosqlite are releases it was checked against, and every private attribute
    it touches is where it was."""
    for package, releases in CHECKED_AGAINST.items():
        version = installed_version(package)
        if not version.startswith(releases):
            return f"{package} {version} is not one it was checked against ({', '.join(releases)}x)"
    cursor = sa_aiosqlite.AsyncAdapt_aiosqlite_cursor
    connection = sa_aiosqlite.AsyncAdapt_aiosqlite_connection
    expected = {
        "AsyncAdapt_aiosqlite_cursor._execute_async": hasattr(cursor, "_execute_async"),
        "AsyncAdapt_aiosqlite_cursor._executemany_async": hasattr(cursor, "_executemany_async"),
        "AsyncAdapt_aiosqlite_connection._cursor_cls": hasattr(connection, "_cursor_cls"),
        "aiosqlite.Connection._execute": asyncio.iscoroutinefunction(
            getattr(aiosqlite.Connection, "_execute", None)
        ),
        "SQLCompiler.construct_params": hasattr(SQLCompiler, "construct_params"),
    }
    missing = [name for name, present in expected.items() if not present]
    return f"not found: {', '.join(missing)}" if missing else None


@functools.cache
def _fall_back_once(reason: str) -> None:
    log.warning(
        "SQLite: the one-trip adapter is off, the stock aiosqlite adapter is used (%s); "
        "everything works, DM answers a little slower",
        reason,
    )


def as_sqlalchemy_error(
    error: sqlite3.Error, statement: str, *, invalidated: bool = False
) -> StatementError:
    """A sqlite3 error from a statement run here, as SQLAlchemy raises it from its own
    (`OperationalError` for "database is locked"): callers and the error handler know those.
    `invalidated`: the caller threw the connection away (a disconnect)."""
    return DBAPIError.instance(
        statement,
        None,
        error,
        sqlite3.Error,
        hide_parameters=True,
        connection_invalidated=invalidated,
    )


class Ran(NamedTuple):
    """What a statement gave back: its rows (plain tuples) and the rows it changed."""

    rows: list[tuple[Any, ...]]
    rowcount: int


class _Prepared(NamedTuple):
    compiled: SQLCompiler
    processors: tuple[Callable[[Any], Any] | None, ...]


class RawStatements:
    """SQLAlchemy Core statements run straight on a sqlite3 connection, as SQLAlchemy would
    run them: compiled once for SQLite (for each set of value names), with each value turned
    into what SQLite stores by its column type (an enum into its value, a datetime into
    SQLAlchemy's text form). The rows come back as sqlite3 gives them: a boolean is 0 or 1.
    Python-side column defaults (`default=`, `onupdate=`) are not applied: give every value."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._prepared: dict[tuple[int, tuple[str, ...]], tuple[Executable, _Prepared]] = {}

    def _prepare(self, statement: Executable, names: tuple[str, ...]) -> _Prepared:
        key = (id(statement), names)
        found = self._prepared.get(key)
        if found is not None and found[0] is statement:
            return found[1]
        assert isinstance(statement, ClauseElement)
        compiled = statement.compile(dialect=self._dialect, column_keys=list(names))
        assert isinstance(compiled, SQLCompiler)
        assert compiled.positiontup is not None
        processors = tuple(
            compiled.binds[name].type.dialect_impl(self._dialect).bind_processor(self._dialect)
            for name in compiled.positiontup
        )
        prepared = _Prepared(compiled, processors)
        # Kept with its statement, so an id cannot be reused while the entry lives.
        self._prepared[key] = (statement, prepared)
        return prepared

    def run(
        self, connection: sqlite3.Connection, statement: Executable, values: Mapping[str, Any]
    ) -> Ran:
        prepared = self._prepare(statement, tuple(sorted(values)))
        compiled = prepared.compiled
        assert compiled.positiontup is not None
        named = compiled.construct_params(dict(values))
        parameters = [
            value if processor is None else processor(value)
            for value, processor in zip(
                (named[name] for name in compiled.positiontup), prepared.processors, strict=True
            )
        ]
        cursor = connection.execute(compiled.string, parameters)
        try:
            rows = cursor.fetchall() if cursor.description else []
            return Ran(rows, cursor.rowcount)
        finally:
            cursor.close()
