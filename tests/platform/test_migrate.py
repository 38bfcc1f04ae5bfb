from __future__ import annotations

import sqlalchemy as sa

from tessera.platform import migrate
from tessera.platform.tables import platform_metadata


def test_migrations_create_every_platform_table(engine):
    tables = set(sa.inspect(engine).get_table_names())
    assert set(platform_metadata.tables) <= tables
    assert migrate.VERSION_TABLE in tables


def test_models_and_migrations_do_not_drift(engine):
    assert migrate.drift(engine) == []


def test_database_is_at_the_newest_revision_and_upgrading_again_is_a_no_op(engine):
    head = migrate.current_revision(engine)
    assert head == "0010"
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == head
