"""Shared fixtures: a migrated database (SQLite, or Postgres when TEST_DATABASE_URL is set),
a frozen clock, and — for end-to-end tests — the fake Slack and the app serving over HTTP."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import EVENTS_PATH, RunningServer, SlackHttpFrontDoor, build_app, start_http
from bot.clock import FrozenClock
from bot.db import create_engine, create_session_factory, is_sqlite
from bot.deps import Deps, build_deps
from bot.migrate import upgrade_to_head
from bot.models import Base
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_requests import SignedSlack
from bot.settings import Settings, load_settings

# pytest rewrites asserts in test modules and conftest.py only; these shared modules' asserts
# should say as much when a journey's step goes wrong.
pytest.register_assert_rewrite("tests.journeys", "tests.factories", "tests.blocks.payloads")

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
    # The CLI configures logging for the process; put the test runner's back afterwards.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield tmp_path
    root.handlers[:], root.level = handlers, level
    get_settings.cache_clear()


# --- end to end: the fake Slack, the app serving over HTTP, and signed requests to it ---------

ALWAYS = "Mon-Sun 00:00-24:00"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documentation example shape


@pytest.fixture
async def fake_slack(clock: FrozenClock) -> AsyncIterator[FakeSlack]:
    # The fake judges trigger expiry and Retry-After windows by the same clock the bot uses.
    async with FakeSlack(clock=lambda: clock.now().timestamp()) as fake:
        fake.add_user("ULEAD", "dana", real_name="Dana Leader", tz="Europe/Berlin")
        fake.add_user("UALICE", "alice", real_name="Alice Ng", tz="America/New_York")
        fake.add_user("UBOB", "bob", real_name="Bob Diaz", tz="Asia/Kolkata")
        fake.add_channel("CTEAM", "platform-team", members=["ULEAD", "UALICE", "UBOB"])
        yield fake


@pytest.fixture
def settings(clean_env: Path, fake_slack: FakeSlack, database_url: str) -> Settings:
    return load_settings(
        slack_bot_token=fake_slack.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=database_url,
        # Most tests are about what people are sent, not when: their DMs go at any hour.
        # Working hours (the default window) are tested in tests/handlers/test_working_hours.py.
        working_hours=ALWAYS,
    )


@pytest.fixture
async def deps(settings: Settings, engine: AsyncEngine, clock: FrozenClock) -> AsyncIterator[Deps]:
    deps = build_deps(settings, clock=clock)
    yield deps
    await deps.close()


@pytest.fixture(params=[True, False], ids=["one-trip", "routed"])
def dm_one_trip(request: pytest.FixtureRequest, deps: Deps) -> bool:
    """A DM test that uses this runs twice: with DM_ONE_TRIP on (a plain answer planned from a
    read and written in one trip) and off (every DM routed in one ORM transaction). Both must
    give the same result; bot/services/dm.py's `answer_dm` reads the setting per message."""
    deps.settings.dm_one_trip = request.param
    return bool(request.param)


@pytest.fixture
def bolt_app(deps: Deps) -> AsyncApp:
    return build_app(deps)


@pytest.fixture
async def app_server(bolt_app: AsyncApp, deps: Deps) -> AsyncIterator[RunningServer]:
    server = await start_http(SlackHttpFrontDoor(bolt_app, deps), host="127.0.0.1", port=0)
    yield server
    idle = await deps.inflight.wait_idle(timeout=10)
    assert idle, "listeners still running at teardown"
    await server.stop()


@pytest.fixture
async def slack(app_server: RunningServer, fake_slack: FakeSlack) -> AsyncIterator[SignedSlack]:
    """Sends what Slack would send, signed, to the running app."""
    async with aiohttp.ClientSession() as session:
        yield SignedSlack(app_server.url + EVENTS_PATH, SIGNING_SECRET, fake_slack, session=session)
