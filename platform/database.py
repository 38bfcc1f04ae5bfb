"""Database engines: one per URL, configured for Tessera's needs on each dialect.

SQLite is set up for transactional DDL (SQLAlchemy's documented pysqlite recipe: the
driver's own transaction handling is turned off and ``BEGIN`` is emitted by us), WAL
journaling, a busy timeout and enforced foreign keys. Write transactions take the write
lock up front (``BEGIN IMMEDIATE``) so that two writers queue instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlean
from sqlalchemy.engine import Connection, Engine

WRITE = "tessera_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get their folder created.

    SQLite is the one of the ``sqlean.py`` wheel (the same recent version on every
    platform), not the one Python was built with: the read planner's statements nest
    deeper than the fixed parser stack of SQLite before 3.46 allows.
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("module", sqlean)
        engine = sa.create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction meant to write: committed on success, rolled back
    on any exception."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE: True})
        with conn.begin():
            yield conn


@contextmanager
def sqlite_foreign_keys_deferred_to_commit(conn: Connection) -> Iterator[None]:
    """SQLite's procedure for rebuilding tables: foreign key enforcement off for this
    connection (it cannot change inside a transaction), a ``foreign_key_check`` before the
    caller commits, enforcement back on afterwards. Without it, dropping the old copy of a
    referenced table would fire ``ON DELETE`` actions on the referencing rows."""
    if not is_sqlite(conn):
        yield
        return
    # On the driver's connection: through SQLAlchemy the PRAGMA would open a transaction,
    # inside which SQLite ignores it.
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys = ON")


def sqlite_foreign_key_violations(conn: Connection) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in conn.exec_driver_sql("PRAGMA foreign_key_check")]


@contextmanager
def schema_change_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction that may rebuild tables: on SQLite, foreign keys are checked
    once before commit instead of row by row (see
    :func:`sqlite_foreign_keys_deferred_to_commit`)."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE: True})
        with sqlite_foreign_keys_deferred_to_commit(conn):
            with conn.begin():
                yield conn
                if is_sqlite(conn) and sqlite_foreign_key_violations(conn):
                    raise RuntimeError("the change would leave records pointing at nothing")
