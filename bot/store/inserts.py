"""INSERT ... ON CONFLICT DO NOTHING on both backends: the building block of idempotency keys."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def insert_if_absent(
    session: AsyncSession, model: type[DeclarativeBase], values: dict[str, Any]
) -> bool:
    """Insert one row unless a unique constraint already holds it; True when it was inserted.

    On Postgres a concurrent insert of the same key waits for the other transaction and then
    does nothing, so two replicas handling one Slack retry cannot both win.
    """
    # RETURNING says reliably whether a row went in; rowcount does not on every async driver.
    return await insert_returning_id(session, model, values) is not None


async def insert_returning_id(
    session: AsyncSession, model: type[DeclarativeBase], values: dict[str, Any]
) -> Any | None:
    """`insert_if_absent` that returns the new row's primary key (None when it was there)."""
    statement = insert_if_absent_statement(_dialect(session), table_of(model))
    return await session.scalar(statement, values)


async def upsert(
    session: AsyncSession,
    model: type[DeclarativeBase],
    values: dict[str, Any],
    *,
    conflict: tuple[str, ...],
    update: tuple[str, ...],
) -> None:
    """INSERT ... ON CONFLICT (conflict) DO UPDATE SET update-columns, on both backends."""
    statement = upsert_statement(_dialect(session), table_of(model), conflict, update)
    await session.execute(statement, values)


# These run on every DM answer and click; building the statement (the `excluded` alias above
# all) costs more than running it, so each is built once, and the values it is executed with
# name the columns.
@functools.cache
def insert_if_absent_statement(dialect: str, table: Table) -> Any:
    insert = insert_of(dialect)
    primary_key = next(iter(table.primary_key.columns))
    return insert(table).on_conflict_do_nothing().returning(primary_key)


@functools.cache
def upsert_statement(
    dialect: str, table: Table, conflict: tuple[str, ...], update: tuple[str, ...]
) -> Any:
    statement = insert_of(dialect)(table)
    return statement.on_conflict_do_update(
        index_elements=list(conflict),
        set_={column: statement.excluded[column] for column in update},
    )


def insert_of(dialect: str) -> Any:
    """The dialect's INSERT (with ON CONFLICT), its module imported when first used: the
    PostgreSQL dialect is ~2 MB a bot on SQLite never needs."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert


def table_of(model: type[DeclarativeBase]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# Stay well under SQLite's limit on bound parameters in one statement.
ROWS_PER_STATEMENT = 200


async def insert_many_if_absent(
    session: AsyncSession, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]]
) -> None:
    """`insert_if_absent` for many rows, a few hundred per statement."""
    table = model.__table__
    assert isinstance(table, Table)
    insert = insert_of(_dialect(session))
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = list(rows[start : start + ROWS_PER_STATEMENT])
        await session.execute(insert(table).values(chunk).on_conflict_do_nothing())


async def upsert_many(
    session: AsyncSession,
    model: type[DeclarativeBase],
    rows: Sequence[dict[str, Any]],
    *,
    conflict: tuple[str, ...],
    update: tuple[str, ...],
) -> None:
    """`upsert` for many rows, a few hundred per statement."""
    table = model.__table__
    assert isinstance(table, Table)
    insert = insert_of(_dialect(session))
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        statement = insert(table).values(list(rows[start : start + ROWS_PER_STATEMENT]))
        statement = statement.on_conflict_do_update(
            index_elements=list(conflict),
            set_={column: statement.excluded[column] for column in update},
        )
        await session.execute(statement)


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"
