"""Workspaces are isolated tenants; both databases."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tessera.metadata import changes
from tessera.metadata.storage import Namespace
from tessera.platform.errors import TesseraError
from tessera.platform.workspaces import WorkspaceService


def test_two_workspaces_can_both_have_a_deal_with_different_fields(store, records, workspace_factory):
    east, west = workspace_factory("east"), workspace_factory("west")
    store.apply(
        east, changes.create_object({"api_name": "deal", "fields": [{"api_name": "title", "type": "text"}]})
    )
    store.apply(
        west,
        changes.create_object({"api_name": "deal", "fields": [{"api_name": "amount", "type": "integer"}]}),
    )
    in_east = records.create(east, "deal", {"title": "East deal"})
    in_west = records.create(west, "deal", {"amount": 5})
    assert records.get(west, "deal", in_east["id"]) is None
    assert records.get(east, "deal", in_west["id"]) is None
    assert [f.api_name for f in store.state(east).object_named("deal").fields] == ["title"]
    with pytest.raises(TesseraError) as caught:
        records.create(west, "deal", {"title": "wrong workspace"})
    assert caught.value.code == "UNKNOWN_FIELD"


def test_changes_in_one_workspace_leave_the_other_alone(store, records, workspace_factory, engine):
    east, west = workspace_factory("east"), workspace_factory("west")
    for slug in (east, west):
        store.apply(slug, changes.create_object({"api_name": "deal"}))
    store.apply(east, changes.delete_object("deal"))
    assert store.state(west).object_named("deal") is not None
    assert store.state(west).version == 1 and store.state(east).version == 2
    ns = Namespace(west, engine.dialect.name)
    assert sa.inspect(engine).has_table(ns.table_name("deal"), schema=ns.schema)
    assert [e.version for e in store.change_log(west)] == [1]


def test_each_workspace_has_its_own_namespace(engine, workspace_factory):
    slug = workspace_factory()
    ns = Namespace(slug, engine.dialect.name)
    if engine.dialect.name == "postgresql":
        assert ns.schema == f"ws_{slug}"
        assert ns.schema in sa.inspect(engine).get_schema_names()
    else:
        assert ns.schema is None
        assert ns.table_name("deal") == f"ws_{slug}__deal"


def test_create_list_and_ensure(engine):
    service = WorkspaceService(engine)
    slug = f"emea_{uuid.uuid4().hex[:8]}"  # PostgreSQL tests share one database
    created = service.create(slug, "Sales EMEA")
    assert (created.slug, created.name, created.metadata_version) == (slug, "Sales EMEA", 0)
    assert slug in [w.slug for w in service.list()]
    assert service.ensure(slug) == created
    fresh = f"new_{uuid.uuid4().hex[:8]}"
    assert service.ensure(fresh).slug == fresh


@pytest.mark.parametrize(
    ("slug", "code"),
    [
        ("Sales", "NAME_NOT_SNAKE_CASE"),
        ("s", "NAME_LENGTH"),
        ("a_very_long_workspace_name", "NAME_LENGTH"),
        ("", "NAME_REQUIRED"),
    ],
)
def test_invalid_slugs(engine, slug, code):
    with pytest.raises(TesseraError) as caught:
        WorkspaceService(engine).create(slug)
    assert (caught.value.code, caught.value.path) == (code, ("slug",))


def test_duplicate_workspace(engine, workspace):
    with pytest.raises(TesseraError) as caught:
        WorkspaceService(engine).create(workspace)
    assert caught.value.code == "DUPLICATE_NAME"
