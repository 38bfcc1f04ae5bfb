from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.metadata import changes
from tessera.metadata.storage import Namespace
from tessera.metadata.store import MetadataStore
from tessera.platform import migrate
from tessera.platform.database import create_engine
from tessera.platform.tables import platform_metadata
from tessera.platform.workspaces import WorkspaceService
from tests.conftest import POSTGRES_SERVER_URL, POSTGRES_TEST_DATABASE


def test_migrations_create_every_platform_table(engine):
    tables = set(sa.inspect(engine).get_table_names())
    assert set(platform_metadata.tables) <= tables
    assert migrate.VERSION_TABLE in tables


def test_models_and_migrations_do_not_drift(engine):
    assert migrate.drift(engine) == []


def test_database_is_at_the_newest_revision_and_upgrading_again_is_a_no_op(engine):
    head = migrate.current_revision(engine)
    assert head == "0013"
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == head


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with no table at all."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    request.getfixturevalue("postgres_url")  # skips (or fails under CI) when unreachable
    name = f"{POSTGRES_TEST_DATABASE}_empty"
    admin = sa.create_engine(POSTGRES_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(POSTGRES_SERVER_URL).set(database=name)
    engine = create_engine(url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def test_upgrading_indexes_the_owner_of_existing_record_tables(empty_database: Engine):
    engine = empty_database
    migrate.upgrade(engine, "0009")
    WorkspaceService(engine).create("acme", "Acme")
    store = MetadataStore(engine)
    store.apply("acme", changes.create_object({"api_name": "deal", "fields": []}))
    namespace = Namespace("acme", engine.dialect.name)
    deal = store.state("acme").object_named("deal")
    assert deal is not None
    index = namespace.owner_index_name(deal)
    with engine.begin() as conn:  # a table made before 0010 had no such index
        conn.exec_driver_sql(f'DROP INDEX "{namespace.schema or "main"}"."{index}"')
    migrate.upgrade(engine)
    indexes = sa.inspect(engine).get_indexes(namespace.table_name("deal"), schema=namespace.schema)
    assert [(i["name"], i["column_names"]) for i in indexes] == [(index, ["owner"])]
