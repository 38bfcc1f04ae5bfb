"""Alembic environment for the platform's own tables.

Run through :func:`tessera.platform.migrate.upgrade` (``tessera migrate``), which hands
over a connection; ``alembic`` on the command line is not needed.
"""

from __future__ import annotations

from alembic import context

from tessera.platform.migrate import VERSION_TABLE
from tessera.platform.tables import platform_metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=platform_metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
