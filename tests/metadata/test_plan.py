"""What each kind of change does to the tables and their data; both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tessera.metadata import changes
from tessera.metadata.model import MetadataState
from tessera.metadata.storage import Namespace
from tessera.platform.errors import TesseraError


@pytest.fixture
def inspect(engine, workspace):
    ns = Namespace(workspace, engine.dialect.name)

    class Tables:
        def columns(self, obj: str) -> list[str]:
            return [c["name"] for c in sa.inspect(engine).get_columns(ns.table_name(obj), schema=ns.schema)]

        def indexes(self, obj: str) -> dict[str, bool]:
            return {
                str(i["name"]): bool(i["unique"])
                for i in sa.inspect(engine).get_indexes(ns.table_name(obj), schema=ns.schema)
            }

        def exists(self, obj: str) -> bool:
            return sa.inspect(engine).has_table(ns.table_name(obj), schema=ns.schema)

    return Tables()


def test_new_object_gets_system_columns_and_indexes(object_factory, inspect, state, workspace, dialect):
    object_factory(
        "company",
        fields=[
            {"api_name": "name", "type": "text", "unique": True},
            {
                "api_name": "parent",
                "type": "lookup",
                "options": {"target_object": "company", "reverse_name": "children"},
            },
        ],
    )
    assert inspect.columns("company") == [
        "id",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "owner",
        "deleted_at",
        "name",
        "parent",
    ]
    company = state().object_named("company")
    namespace = Namespace(workspace, dialect)
    assert inspect.indexes("company") == {
        namespace.constraint_name("uq", company.field_named("name").id): True,
        namespace.constraint_name("ix", company.field_named("parent").id): False,
        namespace.owner_index_name(company): False,  # roles reaching their own records read through it
    }


def test_renaming_an_object_keeps_records_and_links(object_factory, records, store, workspace, inspect):
    object_factory("company", fields=[{"api_name": "name", "type": "text"}])
    object_factory(
        "deal", fields=[{"api_name": "company", "type": "lookup", "options": {"target_object": "company"}}]
    )
    acme = records.create(workspace, "company", {"name": "Acme"})
    store.apply(
        workspace, changes.update_object("company", {"api_name": "account", "label_plural": "Accounts"})
    )
    assert not inspect.exists("company") and inspect.exists("account")
    assert records.get(workspace, "account", acme["id"])["name"] == "Acme"
    deal = records.create(workspace, "deal", {"company": str(acme["id"])})
    assert deal["company"] == acme["id"]


def test_renaming_a_field_renames_its_columns(object_factory, records, store, workspace, inspect):
    object_factory(
        "deal", fields=[{"api_name": "amount", "type": "currency", "options": {"default_currency": "EUR"}}]
    )
    created = records.create(workspace, "deal", {"amount": "10"})
    store.apply(workspace, changes.update_field("deal", "amount", {"api_name": "value"}))
    assert {"value", "value__currency"} <= set(inspect.columns("deal"))
    assert "amount" not in inspect.columns("deal")
    assert records.get(workspace, "deal", created["id"])["value"].currency_code == "EUR"


def test_swapping_two_field_names_in_one_change(object_factory, records, store, workspace, state):
    object_factory(
        "person",
        fields=[{"api_name": "first_name", "type": "text"}, {"api_name": "last_name", "type": "text"}],
    )
    ada = records.create(workspace, "person", {"first_name": "Lovelace", "last_name": "Ada"})

    def swap(current):
        person = current.object_named("person")
        first, last = person.fields
        return current.with_object(
            person.evolve(fields=(first.evolve(api_name="last_name"), last.evolve(api_name="first_name")))
        )

    result = store.apply(workspace, swap)
    assert [c.describe() for c in result.changes] == [
        "Field 'person.first_name': rename to 'last_name'",
        "Field 'person.last_name': rename to 'first_name'",
    ]
    assert [f.api_name for f in state().object_named("person").fields] == ["last_name", "first_name"]
    assert records.get(workspace, "person", ada["id"])["last_name"] == "Lovelace"


def test_unique_on_and_off(object_factory, records, store, workspace, inspect, state, dialect):
    object_factory("company", fields=[{"api_name": "name", "type": "text"}])
    records.create(workspace, "company", {"name": "Acme"})
    records.create(workspace, "company", {"name": "Acme"})
    with pytest.raises(TesseraError) as caught:
        store.apply(workspace, changes.update_field("company", "name", {"unique": True}))
    assert (caught.value.code, caught.value.path) == ("DUPLICATE_VALUES", ("input", "unique"))
    assert caught.value.problems[0].details == {"values": 1}
    store.apply(workspace, changes.create_field("company", {"api_name": "domain", "type": "text"}))
    store.apply(workspace, changes.update_field("company", "domain", {"unique": True}))
    company = state().object_named("company")
    namespace = Namespace(workspace, dialect)
    owner_index = {namespace.owner_index_name(company): False}
    assert inspect.indexes("company") == {
        namespace.constraint_name("uq", company.field_named("domain").id): True,
        **owner_index,
    }
    store.apply(workspace, changes.update_field("company", "domain", {"unique": False}))
    assert inspect.indexes("company") == owner_index


def test_reordering_fields_changes_metadata_only(object_factory, store, workspace, inspect, state):
    object_factory("person", fields=[{"api_name": "a", "type": "text"}, {"api_name": "b", "type": "text"}])
    result = store.apply(workspace, changes.reorder_fields("person", ["b", "a"]))
    assert result.plan == []
    assert [f.api_name for f in state().object_named("person").fields] == ["b", "a"]
    with pytest.raises(TesseraError) as caught:
        store.apply(workspace, changes.reorder_fields("person", ["b"]))
    assert caught.value.code == "INVALID_INPUT"


def test_unsafe_type_changes_are_refused_with_the_allowed_way(object_factory, store, workspace):
    object_factory(
        "deal", fields=[{"api_name": "name", "type": "text"}, {"api_name": "won", "type": "boolean"}]
    )
    for field, new_type in (("name", "integer"), ("won", "date"), ("name", "lookup")):
        with pytest.raises(TesseraError) as caught:
            store.apply(
                workspace,
                changes.update_field(
                    "deal",
                    field,
                    {"type": new_type, "options": {"target_object": "deal"} if new_type == "lookup" else {}},
                ),
            )
        assert caught.value.code == "UNSAFE_TYPE_CHANGE"
        assert "Add a new field" in caught.value.problems[0].message


def test_long_text_to_text_only_when_values_fit(object_factory, records, store, workspace):
    object_factory("note", fields=[{"api_name": "body", "type": "long_text"}])
    records.create(workspace, "note", {"body": "x" * 300})
    with pytest.raises(TesseraError) as caught:
        store.apply(workspace, changes.update_field("note", "body", {"type": "text"}))
    assert (caught.value.code, caught.value.path) == ("UNSAFE_TYPE_CHANGE", ("input", "type"))
    store.apply(
        workspace, changes.update_field("note", "body", {"type": "text", "options": {"max_length": 500}})
    )


def test_objects_linked_to_each_other_are_deleted_together(object_factory, store, workspace, state):
    object_factory("company", fields=[{"api_name": "name", "type": "text"}])
    object_factory(
        "deal", fields=[{"api_name": "company", "type": "lookup", "options": {"target_object": "company"}}]
    )
    object_factory(
        "task", fields=[{"api_name": "deal", "type": "lookup", "options": {"target_object": "deal"}}]
    )
    # the referenced table comes first in the model: PostgreSQL must drop it last
    store.apply(workspace, lambda current: MetadataState((), current.version), confirm_data_loss=True)
    assert state().objects == ()
