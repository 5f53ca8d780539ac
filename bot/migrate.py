"""Alembic, driven from code: `partnerbot migrate`, `partnerbot run` and the tests all come here.
Only `run` and `migrate` change the schema; the reading commands ask `require_current` first.
Alembic is imported by the functions that use it, so a process that never migrates (or migrates
in a child, as `run` does) does not hold it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bot.children import spawn_pool

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
# Alembic logs a line per plugin as it is first imported. Imported at start-up, before logging
# was set up, those lines were never shown; imported lazily, they would be: keep them quiet.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # env.py reads this attribute before falling back to the settings.
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    """Apply pending migrations. Blocking (Alembic runs its own event loop): call before serving."""
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")


def upgrade_to_head_in_child(database_url: str) -> None:
    """`upgrade_to_head` in a short-lived spawned child process, for `run`: Alembic, the
    migration scripts and a synchronous engine (≈ 12 MB a long-running bot never needs again)
    leave with the child. If the child fails or cannot start, the upgrade runs here instead, so
    an error is reported exactly as it always was (one line, see cli.py)."""
    try:
        with spawn_pool() as pool:
            pool.submit(upgrade_to_head, database_url).result()
    except Exception as error:
        # A database that cannot be reached fails here too, and says so in one line (cli.py);
        # only a child that could not do its work otherwise is news.
        log.log(
            logging.DEBUG if isinstance(error, DBAPIError) else logging.INFO,
            "migrations: the child process failed (%s); running them in this process",
            error.__class__.__name__,
        )
        upgrade_to_head(database_url)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

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
