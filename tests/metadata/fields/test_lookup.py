import sqlalchemy as sa

from tessera.metadata import changes
from tessera.metadata.storage import Namespace

from .helpers import refused


def hard_delete(engine, workspace: str, object_api_name: str, record_id) -> None:
    """Delete a row as the database sees it (the record service's delete comes later)."""
    ns = Namespace(workspace, engine.dialect.name)
    table = sa.table(ns.table_name(object_api_name), sa.column("id", sa.Uuid), schema=ns.schema)
    with engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.id == record_id))


def link(object_factory, on_delete: str) -> None:
    object_factory("company", fields=[{"api_name": "name", "type": "text"}])
    object_factory(
        "deal",
        fields=[
            {
                "api_name": "company",
                "type": "lookup",
                "options": {"target_object": "company", "on_delete": on_delete},
            }
        ],
    )


def test_the_target_must_exist(object_factory, records, workspace):
    link(object_factory, "set_null")
    error = refused(records.create, workspace, "deal", {"company": "3f2504e0-4f89-41d3-9a0c-0305e82c3301"})
    assert (error.code, error.path) == ("LOOKUP_TARGET_NOT_FOUND", ("company",))


def test_on_delete_set_null(object_factory, records, workspace, engine):
    link(object_factory, "set_null")
    acme = records.create(workspace, "company", {"name": "Acme"})
    deal = records.create(workspace, "deal", {"company": str(acme["id"])})
    hard_delete(engine, workspace, "company", acme["id"])
    assert records.get(workspace, "deal", deal["id"])["company"] is None


def test_on_delete_cascade(object_factory, records, workspace, engine):
    link(object_factory, "cascade")
    acme = records.create(workspace, "company", {"name": "Acme"})
    deal = records.create(workspace, "deal", {"company": str(acme["id"])})
    hard_delete(engine, workspace, "company", acme["id"])
    assert records.get(workspace, "deal", deal["id"]) is None


def test_on_delete_restrict_then_changed_to_cascade(object_factory, records, store, workspace, engine):
    link(object_factory, "restrict")
    acme = records.create(workspace, "company", {"name": "Acme"})
    deal = records.create(workspace, "deal", {"company": str(acme["id"])})
    try:
        hard_delete(engine, workspace, "company", acme["id"])
        raise AssertionError("restrict should refuse")
    except sa.exc.IntegrityError:
        pass
    assert records.get(workspace, "company", acme["id"]) is not None
    store.apply(workspace, changes.update_field("deal", "company", {"options": {"on_delete": "cascade"}}))
    assert records.get(workspace, "deal", deal["id"])["company"] == acme["id"]
    hard_delete(engine, workspace, "company", acme["id"])
    assert records.get(workspace, "deal", deal["id"]) is None


def test_self_lookup(object_factory, records, workspace, state):
    object_factory(
        "company",
        fields=[
            {
                "api_name": "parent",
                "type": "lookup",
                "options": {"target_object": "company", "reverse_name": "subsidiaries"},
            }
        ],
    )
    parent = records.create(workspace, "company", {})
    child = records.create(workspace, "company", {"parent": str(parent["id"])})
    assert records.get(workspace, "company", child["id"])["parent"] == parent["id"]
    (relation,) = state().relations()
    assert relation.reverse_name == "subsidiaries"


def test_reverse_names_default_and_conflict(object_factory, store, workspace, state):
    link(object_factory, "set_null")
    assert [r.reverse_name for r in state().relations()] == ["deals"]
    error = refused(
        store.apply,
        workspace,
        changes.create_field(
            "deal", {"api_name": "partner", "type": "lookup", "options": {"target_object": "company"}}
        ),
    )
    assert (error.code, error.path) == ("REVERSE_NAME_CONFLICT", ("input", "options", "reverse_name"))
    error = refused(
        store.apply,
        workspace,
        changes.create_field(
            "deal",
            {
                "api_name": "partner",
                "type": "lookup",
                "options": {"target_object": "company", "reverse_name": "name"},
            },
        ),
    )
    assert error.code == "REVERSE_NAME_CONFLICT"
    store.apply(
        workspace,
        changes.create_field(
            "deal",
            {
                "api_name": "partner",
                "type": "lookup",
                "options": {"target_object": "company", "reverse_name": "partner_deals"},
            },
        ),
    )


def test_foreign_key_and_index_exist(object_factory, workspace, engine, state):
    link(object_factory, "cascade")
    ns = Namespace(workspace, engine.dialect.name)
    inspector = sa.inspect(engine)
    (fk,) = inspector.get_foreign_keys(ns.table_name("deal"), schema=ns.schema)
    assert fk["referred_table"] == ns.table_name("company")
    assert fk["constrained_columns"] == ["company"]
    assert fk["options"].get("ondelete", "").upper() == "CASCADE"
    assert any(
        ix["column_names"] == ["company"]
        for ix in inspector.get_indexes(ns.table_name("deal"), schema=ns.schema)
    )


def test_the_target_cannot_change(object_factory, store, workspace):
    link(object_factory, "set_null")
    object_factory("person")
    error = refused(
        store.apply,
        workspace,
        changes.update_field("deal", "company", {"options": {"target_object": "person"}}),
    )
    assert (error.code, error.path) == ("UNSAFE_TYPE_CHANGE", ("input", "options", "target_object"))
