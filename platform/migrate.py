"""Apply the platform's alembic migrations (``tessera migrate``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection, Engine

from tessera.platform.tables import platform_metadata

VERSION_TABLE = "tessera_alembic_version"
# A path, not a package resource: the top-level folders are namespace packages.
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(conn: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the platform tables to ``revision`` (the newest by default)."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def drift(engine: Engine) -> list[object]:
    """Differences between the migrated database and :data:`platform_metadata` (none
    expected)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return list(compare_metadata(context, platform_metadata))
