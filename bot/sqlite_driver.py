"""SQLAlchemy's aiosqlite adapter with one trip to the connection's thread per statement.

aiosqlite runs each sqlite3 call on the connection's own thread, and SQLAlchemy's adapter makes
three or four such calls per statement (open a cursor, execute, fetch the rows, close it). Each
trip is a hand-off to the thread and back through the event loop, and under load that hand-off,
not SQLite, is most of a statement's time — time a writer spends holding SQLite's one write
lock. Here the whole statement (cursor, execute, fetch, close) is one function run on that
thread, and the adapter reads the finished result.

This leans on two libraries' internals (SQLAlchemy 2.1's `AsyncAdapt_dbapi_cursor` and
aiosqlite's `Connection._execute`); `one_trip_dbapi()` returns None when they are not as
expected, and the engine then uses the stock adapter.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite import aiosqlite as sa_aiosqlite


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

    def rollback(self) -> None:
        # The pool rolls back every connection it is handed back, most of them after a COMMIT:
        # with no transaction open there is nothing to roll back, and no trip to make.
        if not self._idle():
            super().rollback()

    def commit(self) -> None:
        if not self._idle():
            super().commit()


class OneTripDBAPI(sa_aiosqlite.AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        stock = super().connect(*arg, **kw)
        return OneTripConnection(self, stock._connection)


def one_trip_dbapi() -> OneTripDBAPI | None:
    """The adapter for `create_async_engine(module=...)`, or None where the libraries'
    internals this relies on are not there (the stock adapter is then used)."""
    expected = (
        hasattr(sa_aiosqlite.AsyncAdapt_aiosqlite_cursor, "_execute_async")
        and hasattr(sa_aiosqlite.AsyncAdapt_aiosqlite_connection, "_cursor_cls")
        and hasattr(aiosqlite.Connection, "_execute")
    )
    return OneTripDBAPI(aiosqlite, sqlite3) if expected else None
