from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import create_engine, database_answers, is_sqlite, normalize_database_url
from bot.models import Answer, ProcessedEvent, Question, Tour, TourStatus

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


async def test_database_answers(engine: AsyncEngine) -> None:
    assert await database_answers(engine)
    dead = create_engine("postgresql://nobody:x@127.0.0.1:1/none")
    assert not await database_answers(dead, timeout=5)
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

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("BEGIN"):
            begun.append(statement)

    async with create_read_session_factory(engine)() as session:
        await session.execute(text("SELECT 1"))
    async with create_session_factory(engine).begin() as session:
        await session.execute(text("SELECT 1"))
    await engine.dispose()
    assert begun == ["BEGIN", "BEGIN IMMEDIATE"]
