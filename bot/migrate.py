"""Alembic, driven from code: `partnerbot migrate`, `partnerbot run` and the tests all come here.
Only `run` and `migrate` change the schema; the reading commands ask `require_current` first."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError


class DatabaseNotReady(Exception):
    """The database a reading command was pointed at is missing or not migrated; the message
    is one line meant for a person."""


def migrations_dir() -> Path:
    """Where the migration scripts are: inside the wheel, or at the top of a source checkout."""
    packaged = Path(__file__).parent / "_migrations"
    if (packaged / "env.py").exists():
        return packaged
    return Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # env.py reads this attribute before falling back to the settings.
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    """Apply pending migrations. Blocking (Alembic runs its own event loop): call before serving."""
    command.upgrade(alembic_config(database_url), "head")


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None, "the migration scripts have no head"
    return head


def _sync_url(database_url: str) -> URL:
    from bot.db import normalize_database_url

    url = make_url(normalize_database_url(database_url))
    return url.set(
        drivername="sqlite" if url.get_backend_name() == "sqlite" else "postgresql+psycopg"
    )


def masked(database_url: str) -> str:
    """The URL as it may be shown or logged: the password replaced by ***."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:  # not a URL at all: show its scheme only, never the rest
        return database_url.split(":", 1)[0] + ":…"


def require_current(database_url: str) -> None:
    """Raise DatabaseNotReady unless the database exists and is at the head revision. Creates
    nothing: opening a missing SQLite file would create an empty one, so its path is checked
    first (a typo in DATABASE_URL must not read as "no tours yet")."""
    url = _sync_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(str(url.database))
        if not path.is_file():
            raise DatabaseNotReady(
                f"no database at {path} (DATABASE_URL={masked(database_url)}); check the path, "
                "or run `partnerbot migrate` to create it"
            )
    revision = current_revision(database_url)
    head = head_revision()
    if revision != head:
        at = f"revision {revision}" if revision else "no revision (an empty database)"
        raise DatabaseNotReady(
            f"the database at {masked(database_url)} is at {at}, this partnerbot needs "
            f"revision {head}: run `partnerbot migrate` first"
        )


def current_revision(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(_sync_url(database_url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
