"""Applying changes: one transaction, versions, change log, confirmations; both databases."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tessera.metadata import changes, plan
from tessera.metadata.storage import Namespace
from tessera.platform.errors import TesseraError


def table_shape(engine, workspace: str) -> dict[str, Any]:
    """Every table of the workspace with its columns, indexes and foreign keys."""
    ns = Namespace(workspace, engine.dialect.name)
    inspector = sa.inspect(engine)
    prefix = "" if ns.schema else f"ws_{workspace}__"
    shape = {}
    for name in inspector.get_table_names(schema=ns.schema):
        if not name.startswith(prefix):
            continue
        shape[name] = {
            "columns": sorted(c["name"] for c in inspector.get_columns(name, schema=ns.schema)),
            "indexes": sorted(str(i["name"]) for i in inspector.get_indexes(name, schema=ns.schema)),
            "foreign_keys": sorted(
                str(f["name"]) for f in inspector.get_foreign_keys(name, schema=ns.schema)
            ),
        }
    return shape


@pytest.fixture
def crm(object_factory, records, workspace):
    """company ← deal, with one record each."""
    object_factory("company", fields=[{"api_name": "name", "type": "text", "unique": True}])
    object_factory(
        "deal",
        fields=[
            {"api_name": "title", "type": "text"},
            {"api_name": "company", "type": "lookup", "options": {"target_object": "company"}},
        ],
    )
    acme = records.create(workspace, "company", {"name": "Acme"})
    records.create(workspace, "deal", {"title": "Big", "company": str(acme["id"])})


@pytest.fixture
def fail_at_step(monkeypatch):
    """Makes the n-th step of the next plan raise after the steps before it ran."""

    def arm(n: int) -> list[str]:
        ran: list[str] = []
        real_run_plan = plan.run_plan

        def run_plan_failing(conn, the_plan):
            steps = the_plan.steps
            assert len(steps) >= n, f"the plan has only {len(steps)} steps"

            def boom(ops):
                raise RuntimeError("injected failure")

            the_plan.steps = [*steps[: n - 1], plan.PlanStep("boom", boom), *steps[n - 1 :]]
            ran.extend(s.description for s in steps[: n - 1])
            real_run_plan(conn, the_plan)

        monkeypatch.setattr("tessera.metadata.store.run_plan", run_plan_failing)
        return ran

    return arm


MULTI_STEP_CHANGE = {
    "api_name": "project",
    "fields": [
        {"api_name": "name", "type": "text", "unique": True},
        {"api_name": "code", "type": "auto_number"},
        {"api_name": "company", "type": "lookup", "options": {"target_object": "company"}},
    ],
}


def test_a_failure_mid_plan_leaves_metadata_and_tables_unchanged(crm, store, workspace, engine, fail_at_step):
    before_state = store.state(workspace)
    before_tables = table_shape(engine, workspace)
    before_log = store.change_log(workspace)
    ran = fail_at_step(2)
    with pytest.raises(RuntimeError, match="injected failure"):
        store.apply(workspace, changes.create_object(MULTI_STEP_CHANGE))
    assert ran == [
        f"Create table {Namespace(workspace, engine.dialect.name).qualified_table_name('project')}"
    ]
    assert store.state(workspace) == before_state
    assert store.state(workspace).version == before_state.version
    assert table_shape(engine, workspace) == before_tables
    assert store.change_log(workspace) == before_log


def test_a_failure_after_a_table_rebuild_rolls_the_rebuild_back(
    crm, store, workspace, engine, records, fail_at_step, dialect, monkeypatch
):
    """Adding a lookup rebuilds the table on SQLite (batch mode); the rollback covers it."""
    before_tables = table_shape(engine, workspace)
    edit = changes.create_field(
        "deal",
        {
            "api_name": "partner",
            "type": "lookup",
            "options": {"target_object": "company", "reverse_name": "partner_deals"},
        },
    )
    ran = fail_at_step(2)
    with pytest.raises(RuntimeError):
        store.apply(workspace, edit)
    assert ran == ["Add column(s) partner for 'deal.partner'"]
    assert table_shape(engine, workspace) == before_tables
    assert store.state(workspace).object_named("deal").field_named("partner") is None
    (deal,) = all_rows(engine, workspace, "deal")
    assert deal["title"] == "Big"
    monkeypatch.undo()
    store.apply(workspace, edit)  # and the same change still applies afterwards
    assert (
        "partner"
        in table_shape(engine, workspace)[Namespace(workspace, dialect).table_name("deal")]["columns"]
    )


def all_rows(engine, workspace: str, object_api_name: str) -> list[dict[str, Any]]:
    ns = Namespace(workspace, engine.dialect.name)
    with engine.connect() as conn:
        table = sa.Table(ns.table_name(object_api_name), sa.MetaData(), schema=ns.schema, autoload_with=conn)
        return [dict(r) for r in conn.execute(sa.select(table)).mappings()]


def test_dry_run_returns_the_plan_and_touches_nothing(crm, store, workspace, engine):
    before_tables = table_shape(engine, workspace)
    result = store.apply(workspace, changes.create_object(MULTI_STEP_CHANGE), dry_run=True)
    assert result.applied is False
    assert [c.describe() for c in result.changes] == ["Create object 'project' with 3 field(s)"]
    assert result.plan[0]["description"].startswith("Create table")
    assert all(step["sql"] for step in result.plan)
    assert table_shape(engine, workspace) == before_tables
    assert store.state(workspace).object_named("project") is None
    assert store.state(workspace).version == 2
    assert len(store.change_log(workspace)) == 2


def test_versions_count_applied_changes_only(store, workspace, object_factory):
    object_factory("company")
    assert store.state(workspace).version == 1
    same = store.apply(workspace, lambda state: state)
    assert (same.applied, same.version, same.changes) == (False, 1, [])
    store.apply(workspace, changes.update_object("company", {"description": "Organisations we sell to"}))
    assert store.state(workspace).version == 2


def test_change_log_says_who_when_and_what(store, workspace, object_factory):
    object_factory("company", fields=[{"api_name": "name", "type": "text"}])
    store.apply(
        workspace, changes.update_field("company", "name", {"label": "Legal name"}), actor="ada@example.org"
    )
    latest, first = store.change_log(workspace)
    assert (latest.version, latest.actor) == (2, "ada@example.org")
    assert latest.summary == "Field 'company.name': change label"
    (change,) = latest.changes
    assert change["change"] == "field_updated"
    assert (change["before"]["label"], change["after"]["label"]) == ("Name", "Legal name")
    assert latest.created_at >= first.created_at
    assert first.plan[0]["sql"][0].startswith("CREATE TABLE")
    assert [e.version for e in store.change_log(workspace, since_version=1)] == [2]


def test_deleting_data_needs_confirmation(crm, store, workspace, engine):
    with pytest.raises(TesseraError) as caught:
        store.apply(workspace, changes.delete_field("deal", "title"))
    error = caught.value
    assert (error.code, error.path) == ("DATA_LOSS_NOT_CONFIRMED", ("confirmDataLoss",))
    assert error.problems[0].details["data_loss"] == [{"object": "deal", "field": "title", "records": 1}]
    assert all_rows(engine, workspace, "deal")[0]["title"] == "Big"
    result = store.apply(workspace, changes.delete_field("deal", "title"), confirm_data_loss=True)
    assert result.plan[-1]["destructive"] is True
    assert "title" not in all_rows(engine, workspace, "deal")[0]


def test_deleting_empty_fields_and_objects_needs_no_confirmation(store, workspace, object_factory, engine):
    object_factory("company", fields=[{"api_name": "name", "type": "text"}])
    store.apply(workspace, changes.delete_field("company", "name"))
    store.apply(workspace, changes.delete_object("company"))
    assert table_shape(engine, workspace) == {}


def test_deleting_an_object_with_records_needs_confirmation(crm, store, workspace, engine, dialect):
    store.apply(workspace, changes.delete_field("deal", "company"), confirm_data_loss=True)
    with pytest.raises(TesseraError) as caught:
        store.apply(workspace, changes.delete_object("company"))
    assert caught.value.problems[0].details["data_loss"] == [
        {"object": "company", "field": None, "records": 1}
    ]
    store.apply(workspace, changes.delete_object("company"), confirm_data_loss=True)
    assert Namespace(workspace, dialect).table_name("company") not in table_shape(engine, workspace)


def test_an_object_others_link_to_cannot_be_deleted(crm, store, workspace):
    with pytest.raises(TesseraError) as caught:
        store.apply(workspace, changes.delete_object("company"), confirm_data_loss=True)
    assert (caught.value.code, caught.value.path) == ("OBJECT_REFERENCED", ("input", "object"))
    assert "deal.company" in caught.value.problems[0].message


def test_expected_version(store, workspace, object_factory):
    object_factory("company")
    with pytest.raises(TesseraError) as caught:
        store.apply(workspace, changes.create_object({"api_name": "deal"}), expected_version=0)
    assert caught.value.code == "VERSION_CONFLICT"
    assert store.state(workspace).object_named("deal") is None
    store.apply(workspace, changes.create_object({"api_name": "deal"}), expected_version=1)


def test_unknown_workspace(store):
    with pytest.raises(TesseraError) as caught:
        store.state("nowhere")
    assert caught.value.code == "UNKNOWN_WORKSPACE"


def test_rejected_changes_change_nothing(crm, store, workspace, engine):
    before = (store.state(workspace), table_shape(engine, workspace))
    bad_edits = [
        changes.create_field("deal", {"api_name": "Amount", "type": "integer"}),
        changes.update_field("company", "name", {"type": "integer"}),
        changes.update_object("deal", {"api_name": "company"}),
        changes.create_field("deal", {"api_name": "x", "type": "select", "options": {"choices": []}}),
    ]
    for edit in bad_edits:
        with pytest.raises(TesseraError):
            store.apply(workspace, edit)
        assert (store.state(workspace), table_shape(engine, workspace)) == before


def test_concurrent_changes_queue_and_each_gets_its_version(store, workspace):
    """Two admins applying at once: the workspace lock serialises them (row lock on
    PostgreSQL, write lock on SQLite); neither change is lost."""
    import threading

    errors: list[BaseException] = []

    def create(name: str) -> None:
        try:
            store.apply(workspace, changes.create_object({"api_name": name}))
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(f"object_{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    state = store.state(workspace)
    assert state.version == 4
    assert sorted(o.api_name for o in state.objects) == [f"object_{i}" for i in range(4)]
    assert sorted(e.version for e in store.change_log(workspace)) == [1, 2, 3, 4]


def test_writes_read_the_model_once_per_version(
    store, workspace, object_factory, field_factory, records, engine
):
    """The record service keeps the committed model of each version: a write reads no
    metadata rows, and a new version (a new field) is seen by the next write."""
    object_factory("note", fields=[{"api_name": "title", "type": "text"}])
    records.create(workspace, "note", {"title": "first"})
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        records.create(workspace, "note", {"title": "second"})
        assert not [s for s in statements if "FROM objects" in s or "FROM fields" in s]
        field_factory("note", api_name="body", type="text")
        made = records.create(workspace, "note", {"title": "third", "body": "seen"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert made["body"] == "seen"
