"""Statements that run together, in one trip to the database where the driver allows it.

A unit is a plain function of a `Run`, `run(statement, values) -> Ran`: it runs SQLAlchemy Core
statements one after another and decides between them in Python. On SQLite the whole function
runs on the connection's own thread (bot/sqlite_driver.py), so a unit of five statements costs
one hand-off to that thread instead of five, and none of SQLAlchemy's per-statement work on the
event loop; on PostgreSQL it runs through SQLAlchemy in one greenlet (`run_sync`). The DM answer
path, the bot's busiest, is written this way (bot/store/dm_answers.py).

`run_together` runs a unit inside the connection's transaction if it has one; otherwise in a
transaction of its own, committed when the unit returns and rolled back if it raises. A unit
that writes runs through `write_together`, or `run_together` inside a transaction begun through
SQLAlchemy (`engine.begin()`): on SQLite either takes this process's turn for the write lock
(bot/db.py). `write_together` begins, runs and commits in one trip, so the lock is held for
that trip alone rather than across three trips through a busy event loop.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from bot.db import READ_ONLY, sqlite_writers
from bot.sqlite_driver import OneTripConnection, Ran, RawStatements, as_sqlalchemy_error

T = TypeVar("T")


class Run:
    """Runs one statement of a unit; `dialect` names the database, for the statements that are
    spelled differently on each (an upsert)."""

    __slots__ = ("_execute", "dialect")

    def __init__(self, dialect: str, execute: Callable[[Executable, Mapping[str, Any]], Ran]):
        self.dialect = dialect
        self._execute = execute

    def __call__(self, statement: Executable, values: Mapping[str, Any]) -> Ran:
        return self._execute(statement, values)


__all__ = ["Ran", "Run", "run_together", "write_together"]

_raw_statements: weakref.WeakKeyDictionary[Dialect, RawStatements] = weakref.WeakKeyDictionary()


async def run_together(connection: AsyncConnection, unit: Callable[[Run], T]) -> T:
    """Run `unit` with a `run` for this connection (see the module's docstring)."""
    raw = await connection.get_raw_connection()
    adapted: object = raw.dbapi_connection
    if isinstance(adapted, OneTripConnection):
        return await _on_sqlite_thread(connection, adapted, unit)
    began = not connection.in_transaction()
    # A unit in a transaction of its own only reads: on SQLite (the stock adapter) it begins
    # deferred rather than waiting for this process's turn to write.
    read_only = began and connection.dialect.name == "sqlite"
    if read_only:
        await connection.execution_options(**{READ_ONLY: True})
    try:
        result = await connection.run_sync(lambda sync: unit(_through_sqlalchemy(sync)))
        if began:
            await connection.commit()
    finally:
        if read_only:
            await connection.execution_options(**{READ_ONLY: False})
    return result


async def write_together(connection: AsyncConnection, unit: Callable[[Run], T]) -> T:
    """Run `unit`, which writes, in a transaction of its own: on SQLite begun, run and
    committed in one trip to the connection's thread, once it is this process's turn to write
    (bot/db.py), so SQLite's write lock is held for that trip alone; elsewhere inside
    `connection.begin()`. The connection must not be in a transaction."""
    raw = await connection.get_raw_connection()
    adapted: object = raw.dbapi_connection
    writers = sqlite_writers(connection.engine)
    if not isinstance(adapted, OneTripConnection) or writers is None:
        async with connection.begin():
            return await run_together(connection, unit)
    turn = await writers.take_turn(raw.info)
    dialect = connection.dialect
    statements = _statements_for(dialect)

    def on_thread(sqlite: sqlite3.Connection) -> T:
        for statement in turn.statements:
            sqlite.execute(statement)
        run = Run(dialect.name, lambda statement, values: statements.run(sqlite, statement, values))
        try:
            result = unit(run)
        except BaseException:
            if sqlite.in_transaction:
                sqlite.execute("ROLLBACK")
            raise
        sqlite.execute("COMMIT")
        return result

    try:
        result = await adapted.run_on_thread(on_thread)
    except sqlite3.Error as error:
        raise await _failed(connection, error) from error
    finally:
        writers.leave(raw.info)
    turn.began()
    return result


def _statements_for(dialect: Dialect) -> RawStatements:
    statements = _raw_statements.get(dialect)
    if statements is None:
        statements = _raw_statements.setdefault(dialect, RawStatements(dialect))
    return statements


async def _on_sqlite_thread(
    connection: AsyncConnection, adapted: OneTripConnection, unit: Callable[[Run], T]
) -> T:
    dialect = connection.dialect
    statements = _statements_for(dialect)

    def on_thread(sqlite: sqlite3.Connection) -> T:
        began = not sqlite.in_transaction
        if began:
            sqlite.execute("BEGIN")  # deferred: one snapshot for the unit's reads
        run = Run(dialect.name, lambda statement, values: statements.run(sqlite, statement, values))
        try:
            result = unit(run)
        except BaseException:
            if began:
                sqlite.rollback()
            raise
        if began:
            sqlite.commit()
        return result

    try:
        return await adapted.run_on_thread(on_thread)
    except sqlite3.Error as error:
        raise await _failed(connection, error) from error


async def _failed(connection: AsyncConnection, error: sqlite3.Error) -> Exception:
    """The error to raise, as SQLAlchemy would; a connection that is gone is thrown away (the
    pool opens a new one for the next request)."""
    dead = connection.dialect.is_disconnect(error, None, None)  # type: ignore[arg-type]
    if dead:
        await connection.invalidate()
    return as_sqlalchemy_error(error, "(a unit of statements)", invalidated=dead)


def _through_sqlalchemy(connection: Connection) -> Run:
    def execute(statement: Executable, values: Mapping[str, Any]) -> Ran:
        result = connection.execute(statement, dict(values))
        rows = [tuple(row) for row in result.all()] if result.returns_rows else []
        return Ran(rows, result.rowcount)

    return Run(connection.dialect.name, execute)
