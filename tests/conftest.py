"""Shared fixtures: a migrated database (SQLite, or Postgres when TEST_DATABASE_URL is set),
a frozen clock, and — for end-to-end tests — the fake Slack and the app serving over HTTP."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import FrozenClock
from bot.db import create_engine, create_session_factory, is_sqlite
from bot.migrate import upgrade_to_head
from bot.models import Base

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrated once per run; each test gets empty tables (see `engine`)."""
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'partnerbot-test.db'}"
    )
    upgrade_to_head(url)
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await empty_tables(engine, database_url)
    yield engine
    await engine.dispose()


async def empty_tables(engine: AsyncEngine, url: str) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as connection:
        if is_sqlite(url):
            for name in tables:
                await connection.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608 - our table names
        else:
            joined = ", ".join(f'"{name}"' for name in tables)
            await connection.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No Partnerbot or Slack settings from the developer's shell or .env leak into a test."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "PARTNERBOT_")) or name in {
            "DATABASE_URL",
            "PORT",
            "LOG_LEVEL",
            "LOG_FORMAT",
        }:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    from bot.settings import get_settings

    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
