"""`alembic upgrade head` must build exactly the schema the models declare, on both backends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from bot.db import normalize_database_url
from bot.migrate import alembic_config, current_revision, upgrade_to_head
from bot.models import Base


def _sync_url(url: str) -> str:
    parsed = make_url(normalize_database_url(url))
    driver = "sqlite" if parsed.get_backend_name() == "sqlite" else "postgresql+psycopg"
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend under test."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    admin = create_engine(_sync_url(server), isolation_level="AUTOCOMMIT")
    name = f"pb_schema_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(normalize_database_url(server))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_upgrade_head_matches_the_models(fresh_database_url: str) -> None:
    upgrade_to_head(fresh_database_url)
    engine = create_engine(_sync_url(fresh_database_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert differences == []
    assert {"outbox", "processed_events", "tours", "alembic_version"} <= tables


def test_upgrade_is_idempotent(fresh_database_url: str) -> None:
    upgrade_to_head(fresh_database_url)
    first = current_revision(fresh_database_url)
    upgrade_to_head(fresh_database_url)
    assert current_revision(fresh_database_url) == first
    assert first is not None


def test_tours_made_before_0002_survive_the_upgrade(fresh_database_url: str) -> None:
    command.upgrade(alembic_config(fresh_database_url), "0001")
    engine = create_engine(_sync_url(fresh_database_url))
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO tours (team_id, leader_id, title, anonymous, min_responses,"
                    " status, opens_at, closes_at, created_at) VALUES ('T1', 'U1', 'Old',"
                    " true, 3, 'open', :at, :closes, :at)"
                ),
                {
                    "at": datetime(2026, 3, 2, 9, tzinfo=UTC),
                    "closes": datetime(2026, 3, 9, 21, tzinfo=UTC),
                },
            )
        upgrade_to_head(fresh_database_url)
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT close_date, leader_tz, reminders, skipped_count FROM tours")
            ).one()
    finally:
        engine.dispose()
    assert str(row[0]) == "2026-03-09"
    assert (row[1], bool(row[2]), row[3]) == ("UTC", True, 0)


def test_0007_keeps_quotes_and_turns_closed_polls_votes_into_tallies(
    fresh_database_url: str,
) -> None:
    command.upgrade(alembic_config(fresh_database_url), "0006")
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    engine = create_engine(_sync_url(fresh_database_url))
    rows = [
        "INSERT INTO tours (id, team_id, leader_id, title, anonymous, min_responses, status,"
        " opens_at, closes_at, created_at, close_date, leader_tz, reminders, skipped_count)"
        " VALUES (1, 'T1', 'U1', 'Old', true, 3, 'closed', :at, :at, :at, '2026-03-02', 'UTC',"
        " true, 0)",
        "INSERT INTO questions (id, tour_id, position, text) VALUES (1, 1, 0, 'Q')",
        "INSERT INTO answers (id, tour_id, question_id, respondent, text)"
        " VALUES ('b', 1, 1, 'r1', 'one'), ('a', 1, 1, 'r2', 'two')",
        "INSERT INTO themes (id, tour_id, source, position, label, summary, kind, answer_count)"
        " VALUES (1, 1, 'final', 0, 'L1', '', 'challenge', 1),"
        " (2, 1, 'final', 1, 'L2', '', 'challenge', 1)",
        "INSERT INTO theme_quotes (id, theme_id, answer_id, position) VALUES (1, 1, 'b', 0)",
        "INSERT INTO polls (id, tour_id, team_id, channel_id, budget, max_per_theme,"
        " hide_results, allow_outsiders, status, created_at)"
        " VALUES (1, 1, 'T1', 'C1', 3, 2, false, false, 'closed', :at)",
        "INSERT INTO votes (poll_id, voter_id, theme_id, count) VALUES"
        " (1, 'UA', 1, 2), (1, 'UA', 2, 1), (1, 'UB', 1, 1), (1, 'UC', 2, 0)",
    ]
    try:
        with engine.begin() as connection:
            for row in rows:
                connection.execute(text(row), {"at": at})
        upgrade_to_head(fresh_database_url)
        with engine.connect() as connection:
            quotes = connection.execute(text("SELECT answer_id FROM theme_quotes")).all()
            tallies = connection.execute(
                text("SELECT theme_id, votes FROM poll_tallies ORDER BY theme_id")
            ).all()
            voters = connection.execute(text("SELECT voters FROM polls")).scalar()
            votes = connection.execute(text("SELECT count(*) FROM votes")).scalar()
            answers = connection.execute(text("SELECT count(*) FROM answers")).scalar()
            if connection.dialect.name == "sqlite":
                ddl = connection.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = 'answers'")
                ).scalar()
                assert "WITHOUT ROWID" in str(ddl)
    finally:
        engine.dispose()
    assert [tuple(q) for q in quotes] == [("b",)]
    assert [tuple(t) for t in tallies] == [(1, 3), (2, 1)]
    assert (voters, votes, answers) == (2, 0, 2)
