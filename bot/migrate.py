"""Alembic, driven from code: `partnerbot migrate`, `partnerbot run` and the tests all come here."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


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


def current_revision(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from bot.db import normalize_database_url

    sync_url = make_url(normalize_database_url(database_url))
    sync_url = sync_url.set(
        drivername="sqlite" if sync_url.get_backend_name() == "sqlite" else "postgresql+psycopg"
    )
    engine = create_engine(sync_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
