"""A throwaway PostgreSQL database for one benchmark (not a benchmark: `make bench` runs
the scripts whose names do not start with an underscore)."""

from __future__ import annotations

import sqlalchemy as sa

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _admin(statements: list[str]) -> None:
    admin = sa.create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        admin.dispose()


def fresh_database(name: str) -> str:
    """The URL of an empty database ``name`` (dropped first if it exists); raises
    :class:`sqlalchemy.exc.OperationalError` when the server is unreachable."""
    _admin([f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"])
    return sa.make_url(POSTGRES_SERVER).set(database=name).render_as_string(False)


def drop_database(name: str) -> None:
    _admin([f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])
