"""The record service: every write, its checks, its events and validation rules; both databases."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
import sqlalchemy as sa

from tessera.metadata import changes
from tessera.platform.errors import TesseraError
from tessera.platform.records import RecordService, RecordWriter
from tessera.platform.tables import record_events, workspaces


@pytest.fixture
def company(object_factory):
    return object_factory(
        "company",
        fields=[
            {"api_name": "name", "type": "text", "required": True, "unique": True},
            {"api_name": "size", "type": "integer", "default": 10},
            {"api_name": "website", "type": "url"},
        ],
    )


def test_create_sets_system_fields_and_defaults(company, records, workspace):
    created = records.create(workspace, "company", {"name": "Acme"})
    assert created["size"] == 10
    assert created["created_at"] == created["updated_at"]
    assert created["deleted_at"] is None
    assert records.get(workspace, "company", created["id"]) == created


def test_every_problem_is_reported_and_nothing_is_written(company, records, workspace):
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "company", {"size": "big", "website": "nope", "colour": "red", "id": "x"})
    assert {(p.code, p.path) for p in caught.value.problems} == {
        ("TYPE_MISMATCH", ("size",)),
        ("INVALID_URL", ("website",)),
        ("UNKNOWN_FIELD", ("colour",)),
        ("FIELD_READ_ONLY", ("id",)),
        ("FIELD_REQUIRED", ("name",)),
    }
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "company", {})
    assert (caught.value.code, caught.value.path) == ("FIELD_REQUIRED", ("name",))
    created = records.create(workspace, "company", {"name": "Acme"})
    assert records.get(workspace, "company", created["id"])["name"] == "Acme"


def test_unique_values(company, records, workspace):
    records.create(workspace, "company", {"name": "Acme"})
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "company", {"name": "Acme"})
    assert (caught.value.code, caught.value.path) == ("DUPLICATE_VALUE", ("name",))


def test_unknown_object(records, workspace):
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "ghost", {})
    assert caught.value.code == "UNKNOWN_OBJECT"


def test_a_concurrent_duplicate_gets_the_same_clear_error(company, records, workspace, monkeypatch):
    """The pre-check can miss a value inserted meanwhile: the database's refusal is
    translated into the same error."""
    records.create(workspace, "company", {"name": "Acme"})
    monkeypatch.setattr(RecordWriter, "unique_problems", lambda *args, **kwargs: [])
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "company", {"name": "Acme"})
    assert (caught.value.code, caught.value.path) == ("DUPLICATE_VALUE", ("name",))


# -- batches, updates, the recycle bin -------------------------------------------------------
@pytest.fixture
def deal(company, object_factory):
    return object_factory(
        "deal",
        fields=[
            {"api_name": "title", "type": "text", "required": True},
            {
                "api_name": "stage",
                "type": "select",
                "options": {"choices": [{"value": "new"}, {"value": "won"}]},
            },
            {"api_name": "close_date", "type": "date"},
            {
                "api_name": "company",
                "type": "lookup",
                "options": {"target_object": "company", "on_delete": "restrict"},
            },
        ],
    )


def events(engine, record_id):
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(record_events)
            .where(record_events.c.record_id == record_id)
            .order_by(record_events.c.created_at)
        ).mappings()
        return [dict(r) for r in rows]


def workspace_events(engine, workspace):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count())
            .select_from(record_events.join(workspaces, workspaces.c.id == record_events.c.workspace_id))
            .where(workspaces.c.slug == workspace)
        ).scalar_one()


def test_create_many_reports_every_item_and_writes_nothing(company, records, workspace):
    records.create(workspace, "company", {"name": "Taken"})
    with pytest.raises(TesseraError) as caught:
        records.create_many(
            workspace,
            "company",
            [{"name": "A"}, {"name": "Taken"}, {"size": "x"}, {"name": "B"}, {"name": "B"}],
        )
    assert {(p.code, p.path) for p in caught.value.problems} == {
        ("DUPLICATE_VALUE", (1, "name")),
        ("TYPE_MISMATCH", (2, "size")),
        ("FIELD_REQUIRED", (2, "name")),
        ("DUPLICATE_VALUE", (4, "name")),
    }
    assert records.get(workspace, "company", records.create(workspace, "company", {"name": "A"})["id"])


def test_create_many_checks_lookups_with_one_query_per_field(deal, records, workspace, engine):
    acme = records.create(workspace, "company", {"name": "Acme"})
    statements = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    created = records.create_many(
        workspace, "deal", [{"title": f"D{i}", "company": str(acme["id"])} for i in range(50)]
    )
    assert len(created) == 50
    lookups = [s for s in statements if "FROM" in s and "company" in s and "deleted_at IS NULL" in s]
    assert len(lookups) == 1


def test_update_changes_only_what_is_given_and_records_an_event(deal, records, workspace, engine):
    made = records.create(workspace, "deal", {"title": "T", "stage": "new"})
    updated = records.update(workspace, "deal", made["id"], {"stage": "won"})
    assert (updated["title"], updated["stage"]) == ("T", "won")
    assert updated["updated_at"] >= made["updated_at"]
    kinds = [(e["kind"], e["changed_fields"]) for e in events(engine, made["id"])]
    assert kinds == [("created", None), ("updated", ["stage"])]
    last = events(engine, made["id"])[-1]
    assert last["before"]["stage"] == "new" and last["after"]["stage"] == "won"
    assert last["dispatched_at"] is None


def test_an_update_that_changes_nothing_writes_nothing(deal, records, workspace, engine):
    made = records.create(workspace, "deal", {"title": "T"})
    same = records.update(workspace, "deal", made["id"], {"title": "T"})
    assert same["updated_at"] == made["updated_at"]
    assert [e["kind"] for e in events(engine, made["id"])] == ["created"]


def test_update_refuses_emptying_a_required_field_and_unknown_records(deal, records, workspace):
    made = records.create(workspace, "deal", {"title": "T"})
    with pytest.raises(TesseraError) as caught:
        records.update(workspace, "deal", made["id"], {"title": None})
    assert (caught.value.code, caught.value.path) == ("FIELD_REQUIRED", ("title",))
    with pytest.raises(TesseraError) as caught:
        records.update(workspace, "deal", uuid.uuid4(), {"title": "x"})
    assert caught.value.code == "RECORD_NOT_FOUND"


def test_unique_on_update_ignores_the_record_itself(company, records, workspace):
    acme = records.create(workspace, "company", {"name": "Acme"})
    records.create(workspace, "company", {"name": "Globex"})
    assert records.update(workspace, "company", acme["id"], {"name": "Acme", "size": 3})["size"] == 3
    with pytest.raises(TesseraError) as caught:
        records.update(workspace, "company", acme["id"], {"name": "Globex"})
    assert caught.value.code == "DUPLICATE_VALUE"


def test_update_many_is_all_or_nothing(company, records, workspace):
    for name in ("a", "b", "c"):
        records.create(workspace, "company", {"name": name, "size": 1})
    changed = records.update_many(workspace, "company", {"size": {"eq": 1}}, {"size": 2})
    assert sorted(r["name"] for r in changed) == ["a", "b", "c"] and {r["size"] for r in changed} == {2}
    with pytest.raises(TesseraError) as caught:
        records.update_many(workspace, "company", {"size": {"eq": 2}}, {"name": "same"})
    assert caught.value.code == "DUPLICATE_VALUE"
    with pytest.raises(TesseraError) as caught:
        records.update_many(workspace, "company", {"sise": {"eq": 2}}, {"size": 3})
    assert (caught.value.code, caught.value.path) == ("FILTER_UNKNOWN_FIELD", ("filter", "sise"))
    assert records.update_many(workspace, "company", {"size": {"eq": 99}}, {"size": 3}) == []


def test_recycle_bin(deal, records, workspace, engine):
    made = records.create(workspace, "deal", {"title": "T"})
    deleted = records.delete(workspace, "deal", made["id"])
    assert deleted["deleted_at"] is not None
    assert records.get(workspace, "deal", made["id"]) is None
    assert records.get(workspace, "deal", made["id"], include_deleted=True)["title"] == "T"
    with pytest.raises(TesseraError) as caught:
        records.delete(workspace, "deal", made["id"])
    assert caught.value.code == "RECORD_NOT_FOUND"
    restored = records.restore(workspace, "deal", made["id"])
    assert restored["deleted_at"] is None
    with pytest.raises(TesseraError) as caught:
        records.restore(workspace, "deal", made["id"])
    assert caught.value.code == "RECORD_NOT_DELETED"
    assert [e["kind"] for e in events(engine, made["id"])] == ["created", "deleted", "restored"]


def test_a_deleted_record_cannot_be_linked(deal, records, workspace):
    acme = records.create(workspace, "company", {"name": "Acme"})
    records.delete(workspace, "company", acme["id"])
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "deal", {"title": "T", "company": str(acme["id"])})
    assert (caught.value.code, caught.value.path) == ("LOOKUP_TARGET_NOT_FOUND", ("company",))


def test_a_unique_value_in_the_recycle_bin_says_so(company, records, workspace):
    acme = records.create(workspace, "company", {"name": "Acme"})
    records.delete(workspace, "company", acme["id"])
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "company", {"name": "Acme"})
    assert "recycle bin" in caught.value.problems[0].message


@pytest.mark.parametrize(
    ("on_delete", "outcome"), [("restrict", "refused"), ("set_null", "unlinked"), ("cascade", "deleted")]
)
def test_destroy_follows_on_delete(object_factory, records, workspace, engine, on_delete, outcome):
    object_factory("company", [{"api_name": "name", "type": "text"}], label_plural="Companies")
    object_factory(
        "deal",
        [
            {
                "api_name": "company",
                "type": "lookup",
                "options": {"target_object": "company", "on_delete": on_delete},
            }
        ],
    )
    acme = records.create(workspace, "company", {"name": "Acme"})
    linked = records.create(workspace, "deal", {"company": str(acme["id"])})
    if outcome == "refused":
        with pytest.raises(TesseraError) as caught:
            records.destroy(workspace, "company", acme["id"])
        assert caught.value.code == "RECORD_IN_USE" and "deal.company" in caught.value.problems[0].message
        assert records.get(workspace, "company", acme["id"]) is not None
        return
    assert records.destroy(workspace, "company", acme["id"]) == acme["id"]
    assert records.get(workspace, "company", acme["id"], include_deleted=True) is None
    remaining = records.get(workspace, "deal", linked["id"])
    assert (remaining is None) if outcome == "deleted" else (remaining["company"] is None)
    assert [e["kind"] for e in events(engine, acme["id"])] == ["created", "destroyed"]


def test_upsert_creates_then_updates(company, records, workspace):
    created, was_created = records.upsert(workspace, "company", "name", {"name": "Acme", "size": 1})
    assert was_created and created["size"] == 1
    updated, was_created = records.upsert(workspace, "company", "name", {"name": "Acme", "size": 2})
    assert not was_created and updated["id"] == created["id"] and updated["size"] == 2
    with pytest.raises(TesseraError) as caught:
        records.upsert(workspace, "company", "size", {"size": 2})
    assert caught.value.code == "UPSERT_FIELD_NOT_UNIQUE"
    with pytest.raises(TesseraError) as caught:
        records.upsert(workspace, "company", "name", {"size": 2})
    assert caught.value.code == "FIELD_REQUIRED"


def test_several_writes_in_one_unit_of_work(deal, records, workspace):
    with pytest.raises(RuntimeError), records.writer(workspace) as w:
        acme = w.create("company", {"name": "Acme"})
        w.create("deal", {"title": "T", "company": str(acme["id"])})
        raise RuntimeError("changed my mind")
    with records.writer(workspace) as w:
        assert w.update_many("company", None, {"size": 1}) == []


def test_owner_is_the_actor_unless_given(company, records, workspace, user_factory):
    me, other = user_factory(), uuid.uuid4()
    mine = records.create(workspace, "company", {"name": "A"}, actor=me)
    assert (mine["owner"], mine["created_by"]) == (me, me)
    theirs = records.create(workspace, "company", {"name": "B", "owner": str(other)}, actor=me)
    assert theirs["owner"] == other
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "company", {"name": "C", "owner": "nobody"})
    assert caught.value.code == "INVALID_ID"


def test_a_failed_write_leaves_no_event(company, records, workspace, engine):
    with pytest.raises(TesseraError):
        records.create_many(workspace, "company", [{"name": "A"}, {"name": "A"}])
    assert workspace_events(engine, workspace) == 0


# -- validation rules ------------------------------------------------------------------------
def test_validation_rules_refuse_the_records_they_match(deal, store, records, workspace, engine):
    store.apply(
        workspace,
        changes.update_object(
            "deal",
            {
                "validation_rules": [
                    {
                        "name": "won_needs_close_date",
                        "error_when": {"stage": {"eq": "won"}, "close_date": {"isNull": True}},
                        "message": "A won deal needs a close date.",
                        "field": "close_date",
                    }
                ]
            },
        ),
    )
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "deal", {"title": "T", "stage": "won"})
    problem = caught.value.problems[0]
    assert (problem.code, problem.path, problem.message) == (
        "VALIDATION_RULE_FAILED",
        ("close_date",),
        "A won deal needs a close date.",
    )
    assert problem.details == {"rule": "won_needs_close_date"}
    ok = records.create(workspace, "deal", {"title": "T", "stage": "won", "close_date": "2026-01-01"})
    with pytest.raises(TesseraError) as caught:
        records.update(workspace, "deal", ok["id"], {"close_date": None})
    assert caught.value.code == "VALIDATION_RULE_FAILED"
    with pytest.raises(TesseraError) as caught:
        records.create_many(workspace, "deal", [{"title": "a"}, {"title": "b", "stage": "won"}])
    assert caught.value.problems[0].path == (1, "close_date")
    assert workspace_events(engine, workspace) == 1  # only the valid deal's creation


def test_inactive_rules_do_not_run(deal, store, records, workspace):
    store.apply(
        workspace,
        changes.update_object(
            "deal",
            {
                "validation_rules": [
                    {
                        "name": "never",
                        "error_when": {"title": {"isNull": False}},
                        "message": "No.",
                        "active": False,
                    }
                ]
            },
        ),
    )
    assert records.create(workspace, "deal", {"title": "T"})["title"] == "T"


def test_concurrent_inserts_of_one_unique_value_on_postgresql(company, records, workspace, dialect):
    if dialect != "postgresql":
        pytest.skip("SQLite serialises writers: a concurrent duplicate cannot be staged")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    original = RecordWriter.unique_problems

    def checked_then_wait(self, *args, **kwargs):
        found = original(self, *args, **kwargs)
        barrier.wait(timeout=10)  # both have checked before either inserts
        return found

    def create() -> None:
        try:
            records.create(workspace, "company", {"name": "Same"})
            outcomes.append("created")
        except TesseraError as exc:
            outcomes.append(exc.code)

    RecordWriter.unique_problems = checked_then_wait  # type: ignore[method-assign]
    try:
        threads = [threading.Thread(target=create) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        RecordWriter.unique_problems = original  # type: ignore[method-assign]
    assert sorted(outcomes) == ["DUPLICATE_VALUE", "created"]


def test_relative_dates_in_writes_follow_the_service_time_zone(deal, engine, workspace):
    late_evening_utc = dt.datetime(2026, 5, 20, 20, 0, tzinfo=dt.UTC)  # already May 21st in Tokyo
    tokyo = RecordService(engine, clock=lambda: late_evening_utc, time_zone="Asia/Tokyo")
    tokyo.create(workspace, "deal", {"title": "May 21", "close_date": "2026-05-21"})
    tokyo.create(workspace, "deal", {"title": "May 20", "close_date": "2026-05-20"})
    changed = tokyo.update_many(workspace, "deal", {"close_date": {"eq": "today"}}, {"stage": "won"})
    assert [r["title"] for r in changed] == ["May 21"]
    utc = RecordService(engine, clock=lambda: late_evening_utc)
    assert [
        r["title"]
        for r in utc.update_many(workspace, "deal", {"close_date": {"eq": "today"}}, {"stage": "won"})
    ] == ["May 20"]


# -- error paths, input shapes -----------------------------------------------------------------
def test_every_operation_names_the_record_it_cannot_find(deal, records, workspace):
    ghost = uuid.uuid4()
    for operation in (
        lambda: records.update(workspace, "deal", ghost, {"title": "x"}),
        lambda: records.delete(workspace, "deal", ghost),
        lambda: records.restore(workspace, "deal", ghost),
        lambda: records.destroy(workspace, "deal", ghost),
    ):
        with pytest.raises(TesseraError) as caught:
            operation()
        assert (caught.value.code, caught.value.path) == ("RECORD_NOT_FOUND", ("id",))
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "ghost", {})
    assert (caught.value.code, caught.value.path) == ("UNKNOWN_OBJECT", ("object",))


def test_values_must_be_objects(company, records, workspace):
    with pytest.raises(TesseraError) as caught:
        records.create_many(workspace, "company", [{"name": "A"}, ["not", "an", "object"]])
    assert (caught.value.code, caught.value.path) == ("INVALID_INPUT", (1,))
    made = records.create(workspace, "company", {"name": "A"})
    for operation in (
        lambda: records.update(workspace, "company", made["id"], "x"),  # type: ignore[arg-type]
        lambda: records.upsert(workspace, "company", "name", "x"),  # type: ignore[arg-type]
        lambda: records.create_many(workspace, "company", "x"),  # type: ignore[arg-type]
    ):
        with pytest.raises(TesseraError) as caught:
            operation()
        assert caught.value.code == "INVALID_INPUT"


def test_system_and_generated_fields_are_read_only(object_factory, records, workspace):
    object_factory(
        "ticket",
        [
            {"api_name": "subject", "type": "text"},
            {"api_name": "ref", "type": "auto_number", "options": {"prefix": "T-", "padding": 3}},
        ],
    )
    made = records.create(workspace, "ticket", {"subject": "a"})
    assert made["ref"] == "T-001"
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "ticket", {"subject": "b", "ref": "T-999"})
    assert (caught.value.code, caught.value.path) == ("FIELD_READ_ONLY", ("ref",))
    for name in ("id", "created_at", "updated_by", "deleted_at"):
        with pytest.raises(TesseraError) as caught:
            records.update(workspace, "ticket", made["id"], {name: None})
        assert (caught.value.code, caught.value.path) == ("FIELD_READ_ONLY", (name,))


def test_a_batch_numbers_its_records_in_order_with_one_statement(object_factory, records, workspace, engine):
    object_factory("ticket", [{"api_name": "ref", "type": "auto_number", "options": {"prefix": "T-"}}])
    records.create(workspace, "ticket", {})
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        made = records.create_many(workspace, "ticket", [{} for _ in range(5)])
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert [r["ref"] for r in made] == [f"T-0000{i}" for i in range(2, 7)]
    assert len([s for s in statements if "auto_number_sequences" in s]) == 1


def test_owner_can_be_changed_to_a_user_id(company, records, workspace):
    made = records.create(workspace, "company", {"name": "A"})
    someone = uuid.uuid4()
    assert records.update(workspace, "company", made["id"], {"owner": str(someone)})["owner"] == someone
    with pytest.raises(TesseraError) as caught:
        records.update(workspace, "company", made["id"], {"owner": 12})
    assert (caught.value.code, caught.value.path) == ("INVALID_ID", ("owner",))


def test_json_values_are_checked_against_the_fields_schema(object_factory, records, workspace):
    object_factory(
        "event",
        [
            {
                "api_name": "payload",
                "type": "json",
                "options": {
                    "schema": {
                        "type": "object",
                        "properties": {"seats": {"type": "integer", "minimum": 1}},
                        "required": ["seats"],
                    }
                },
            }
        ],
    )
    assert records.create(workspace, "event", {"payload": {"seats": 3}})["payload"] == {"seats": 3}
    with pytest.raises(TesseraError) as caught:
        records.create_many(workspace, "event", [{"payload": {"seats": 2}}, {"payload": {"seats": 0}}])
    assert (caught.value.code, caught.value.path) == ("JSON_SCHEMA_VIOLATION", (1, "payload", "seats"))


# -- select options --------------------------------------------------------------------------------
@pytest.fixture
def ticket(object_factory):
    return object_factory(
        "ticket",
        [
            {
                "api_name": "status",
                "type": "select",
                "options": {"choices": [{"value": "open"}, {"value": "legacy"}, {"value": "done"}]},
            },
            {
                "api_name": "tags",
                "type": "multi_select",
                "options": {"choices": [{"value": "old"}, {"value": "new"}, {"value": "hot"}]},
            },
            {"api_name": "note", "type": "text"},
        ],
    )


def retire(store, workspace, field, value, values):
    store.apply(
        workspace,
        changes.update_field(
            "ticket",
            field,
            {"options": {"choices": [{"value": v, "retired": v == value} for v in values]}},
        ),
    )


def test_retired_options_are_kept_by_the_records_holding_them(ticket, store, records, workspace):
    holder = records.create(workspace, "ticket", {"status": "legacy", "tags": ["old", "hot"]})
    other = records.create(workspace, "ticket", {"status": "open"})
    retire(store, workspace, "status", "legacy", ["open", "legacy", "done"])
    retire(store, workspace, "tags", "old", ["old", "new", "hot"])
    with pytest.raises(TesseraError) as caught:
        records.create(workspace, "ticket", {"status": "legacy"})
    assert (caught.value.code, caught.value.path) == ("INVALID_OPTION", ("status",))
    # untouched, or given again as it is (a form sending every value back): kept
    assert records.update(workspace, "ticket", holder["id"], {"note": "n"})["status"] == "legacy"
    again = records.update(
        workspace, "ticket", holder["id"], {"status": "legacy", "tags": ["old", "new"], "note": "m"}
    )
    assert (again["status"], again["tags"]) == ("legacy", ["old", "new"])
    # a record that does not hold it cannot get it
    with pytest.raises(TesseraError) as caught:
        records.update(workspace, "ticket", other["id"], {"status": "legacy"})
    assert (caught.value.code, caught.value.path) == ("INVALID_OPTION", ("status",))
    assert "retired" in caught.value.problems[0].message
    with pytest.raises(TesseraError) as caught:
        records.update_many(workspace, "ticket", None, {"tags": ["old"]})
    assert (caught.value.code, caught.value.path) == ("INVALID_OPTION", ("tags",))
    with pytest.raises(TesseraError) as caught:
        records.update(workspace, "ticket", other["id"], {"status": "nope"})
    assert (caught.value.code, caught.value.path) == ("INVALID_OPTION", ("status",))


# -- updates ---------------------------------------------------------------------------------------
def test_a_record_in_the_recycle_bin_is_not_updated(company, records, workspace):
    binned = records.create(workspace, "company", {"name": "Old", "size": 1})
    live = records.create(workspace, "company", {"name": "New", "size": 1})
    records.delete(workspace, "company", binned["id"])
    with pytest.raises(TesseraError) as caught:
        records.update(workspace, "company", binned["id"], {"size": 2})
    assert (caught.value.code, caught.value.path) == ("RECORD_NOT_FOUND", ("id",))
    changed = records.update_many(workspace, "company", {"size": {"eq": 1}}, {"size": 2})
    assert [r["id"] for r in changed] == [live["id"]]
    assert records.get(workspace, "company", binned["id"], include_deleted=True)["size"] == 1


def test_update_many_reports_filter_and_value_problems_together(company, records, workspace):
    with pytest.raises(TesseraError) as caught:
        records.update_many(workspace, "company", {"sise": {"eq": 1}}, {"size": "big", "colour": "red"})
    assert {(p.code, p.path) for p in caught.value.problems} == {
        ("FILTER_UNKNOWN_FIELD", ("filter", "sise")),
        ("TYPE_MISMATCH", ("size",)),
        ("UNKNOWN_FIELD", ("colour",)),
    }
    with pytest.raises(TesseraError) as caught:
        records.update_many(workspace, "company", {"size": {"eq": 99}}, {"name": None})
    assert (caught.value.code, caught.value.path) == ("FIELD_REQUIRED", ("name",))


def test_update_many_changes_only_records_that_differ(company, records, workspace, engine):
    a = records.create(workspace, "company", {"name": "a", "size": 1})
    b = records.create(workspace, "company", {"name": "b", "size": 2})
    changed = records.update_many(workspace, "company", {"name": {"in": ["a", "b"]}}, {"size": 2})
    assert [(r["name"], r["size"]) for r in changed] == [("a", 2), ("b", 2)]
    assert [e["kind"] for e in events(engine, a["id"])] == ["created", "updated"]
    assert [e["kind"] for e in events(engine, b["id"])] == ["created"]
    assert records.get(workspace, "company", b["id"])["updated_at"] == b["updated_at"]


def test_a_lookup_must_point_at_a_live_record_on_update(deal, records, workspace):
    made = records.create(workspace, "deal", {"title": "T"})
    with pytest.raises(TesseraError) as caught:
        records.update(workspace, "deal", made["id"], {"company": str(uuid.uuid4())})
    assert (caught.value.code, caught.value.path) == ("LOOKUP_TARGET_NOT_FOUND", ("company",))
    with pytest.raises(TesseraError) as caught:
        records.create_many(workspace, "deal", [{"title": "a"}, {"title": "b", "company": str(uuid.uuid4())}])
    assert (caught.value.code, caught.value.path) == ("LOOKUP_TARGET_NOT_FOUND", (1, "company"))


# -- events ----------------------------------------------------------------------------------------
def test_events_carry_the_record_as_json(object_factory, records, workspace, engine, user_factory):
    object_factory(
        "order",
        [
            {"api_name": "total", "type": "decimal", "options": {"scale": 2}},
            {"api_name": "placed_on", "type": "date"},
        ],
    )
    me = user_factory()
    made = records.create(workspace, "order", {"total": "12.5", "placed_on": "2026-11-23"}, actor=me)
    records.update(workspace, "order", made["id"], {"total": "13"}, actor=me)
    records.delete(workspace, "order", made["id"])
    records.restore(workspace, "order", made["id"])
    records.destroy(workspace, "order", made["id"])
    created, updated, deleted, restored, destroyed = events(engine, made["id"])
    assert created["before"] is None and created["changed_fields"] is None
    assert created["after"]["total"] == "12.50" and created["after"]["placed_on"] == "2026-11-23"
    assert created["after"]["id"] == str(made["id"]) and created["actor"] == me
    assert (created["object_api_name"], created["object_id"]) == ("order", made_object_id(engine, workspace))
    assert (updated["before"]["total"], updated["after"]["total"], updated["changed_fields"]) == (
        "12.50",
        "13.00",
        ["total"],
    )
    assert deleted["before"]["deleted_at"] is None and deleted["after"]["deleted_at"] is not None
    assert restored["after"]["deleted_at"] is None and restored["changed_fields"] == ["deleted_at"]
    assert destroyed["after"] is None and destroyed["before"]["total"] == "13.00"
    assert {e["dispatched_at"] for e in (created, updated, deleted, restored, destroyed)} == {None}


def made_object_id(engine, workspace):
    from tessera.metadata.store import MetadataStore

    obj = MetadataStore(engine).state(workspace).object_named("order")
    assert obj is not None
    return obj.id


def test_a_batch_writes_one_event_per_record(company, records, workspace, engine):
    made = records.create_many(workspace, "company", [{"name": f"c{i}"} for i in range(3)])
    assert workspace_events(engine, workspace) == 3
    assert all([e["kind"] for e in events(engine, r["id"])] == ["created"] for r in made)


# -- units of work ---------------------------------------------------------------------------------
def test_a_refused_operation_in_a_unit_of_work_leaves_nothing(deal, store, records, workspace, engine):
    """A caller may catch one refusal and go on: the refused operation's rows and events
    are gone (a savepoint), the others are kept."""
    store.apply(
        workspace,
        changes.update_object(
            "deal",
            {
                "validation_rules": [
                    {"name": "no_x", "error_when": {"title": {"eq": "x"}}, "message": "No x."}
                ]
            },
        ),
    )
    with records.writer(workspace) as w:
        kept = w.create("deal", {"title": "kept"})
        with pytest.raises(TesseraError):
            w.create("deal", {"title": "x"})  # inserted, then refused by the rule
        with pytest.raises(TesseraError):
            w.update("deal", kept["id"], {"title": "x"})
        w.update("deal", kept["id"], {"stage": "won"})
    with engine.connect() as conn:
        titles = conn.execute(
            sa.select(record_events.c.kind, record_events.c.after)
            .join(workspaces, workspaces.c.id == record_events.c.workspace_id)
            .where(workspaces.c.slug == workspace)
        ).all()
    assert sorted((kind, after["title"]) for kind, after in titles) == [
        ("created", "kept"),
        ("updated", "kept"),
    ]
    assert records.get(workspace, "deal", kept["id"])["title"] == "kept"


def test_a_unit_of_work_reads_the_data_model_once(deal, records, workspace, engine):
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        with records.writer(workspace) as w:
            acme = w.create("company", {"name": "Acme"})
            w.create_many("deal", [{"title": "a", "company": str(acme["id"])}, {"title": "b"}])
            w.update_many("deal", {"title": {"eq": "a"}}, {"stage": "won"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if "FROM objects" in s]) == 1


def test_batch_checks_do_not_grow_with_the_batch(deal, records, workspace, engine):
    """create_many of 1,000 records runs as many statements as one of 10: unique and lookup
    checks are one query per field, inserts and events one executemany each."""
    acme = records.create(workspace, "company", {"name": "Acme"})

    def statements_for(count: int, prefix: str) -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            records.create_many(
                workspace,
                "company",
                [{"name": f"{prefix}{i}"} for i in range(count)],
            )
            records.create_many(
                workspace,
                "deal",
                [{"title": f"{prefix}{i}", "company": str(acme["id"])} for i in range(count)],
            )
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    assert statements_for(1000, "big") == statements_for(10, "small")


# -- destroy and the records linking to it ----------------------------------------------------------
@pytest.fixture
def linked(object_factory):
    """company ← deal (cascade) ← note (given on_delete), and company ← contact (set_null)."""

    def make(note_on_delete: str = "set_null"):
        object_factory("company", [{"api_name": "name", "type": "text"}], label_plural="Companies")
        object_factory(
            "deal",
            [
                {"api_name": "title", "type": "text"},
                {
                    "api_name": "company",
                    "type": "lookup",
                    "options": {"target_object": "company", "on_delete": "cascade"},
                },
            ],
        )
        object_factory(
            "note",
            [
                {
                    "api_name": "deal",
                    "type": "lookup",
                    "options": {"target_object": "deal", "on_delete": note_on_delete},
                }
            ],
        )
        object_factory(
            "contact",
            [{"api_name": "employer", "type": "lookup", "options": {"target_object": "company"}}],
        )

    return make


def test_destroy_records_an_event_for_every_record_it_reaches(
    linked, records, workspace, engine, user_factory
):
    linked()
    me = user_factory()
    acme = records.create(workspace, "company", {"name": "Acme"})
    deal = records.create(workspace, "deal", {"title": "D", "company": str(acme["id"])})
    note = records.create(workspace, "note", {"deal": str(deal["id"])})
    contact = records.create(workspace, "contact", {"employer": str(acme["id"])})
    records.destroy(workspace, "company", acme["id"], actor=me)
    assert records.get(workspace, "deal", deal["id"], include_deleted=True) is None
    assert records.get(workspace, "note", note["id"])["deal"] is None
    unlinked = records.get(workspace, "contact", contact["id"])
    assert unlinked["employer"] is None and unlinked["updated_by"] == me
    assert [e["kind"] for e in events(engine, deal["id"])] == ["created", "destroyed"]
    assert events(engine, deal["id"])[-1]["before"]["title"] == "D"
    for record, name in ((note, "deal"), (contact, "employer")):
        last = events(engine, record["id"])[-1]
        assert (last["kind"], last["changed_fields"]) == ("updated", [name])
        assert last["before"][name] is not None and last["after"][name] is None


def test_restrict_anywhere_down_a_cascade_refuses_and_names_who_holds_it(linked, records, workspace, engine):
    linked(note_on_delete="restrict")
    acme = records.create(workspace, "company", {"name": "Acme"})
    deal = records.create(workspace, "deal", {"title": "D", "company": str(acme["id"])})
    first = records.create(workspace, "note", {"deal": str(deal["id"])})
    records.create(workspace, "note", {"deal": str(deal["id"])})
    records.delete(workspace, "note", first["id"])  # the recycle bin still holds the link
    with pytest.raises(TesseraError) as caught:
        records.destroy(workspace, "company", acme["id"])
    problem = caught.value.problems[0]
    assert (problem.code, problem.path) == ("RECORD_IN_USE", ("id",))
    assert "2 Notes (note.deal, 1 of them in the recycle bin)" in problem.message
    assert problem.details == {"linked_from": ["note.deal"]}
    assert records.get(workspace, "deal", deal["id"]) is not None
    assert [e["kind"] for e in events(engine, acme["id"])] == ["created"]


def test_a_record_in_the_recycle_bin_can_be_destroyed(company, records, workspace):
    made = records.create(workspace, "company", {"name": "Acme"})
    records.delete(workspace, "company", made["id"])
    assert records.destroy(workspace, "company", made["id"]) == made["id"]
    assert records.get(workspace, "company", made["id"], include_deleted=True) is None
    assert records.create(workspace, "company", {"name": "Acme"})["name"] == "Acme"


def test_a_self_cascade_ends(object_factory, records, workspace, engine):
    object_factory(
        "team",
        [
            {"api_name": "name", "type": "text"},
            {
                "api_name": "parent",
                "type": "lookup",
                "options": {"target_object": "team", "on_delete": "cascade"},
            },
        ],
    )
    root = records.create(workspace, "team", {"name": "root"})
    child = records.create(workspace, "team", {"name": "child", "parent": str(root["id"])})
    grandchild = records.create(workspace, "team", {"name": "grandchild", "parent": str(child["id"])})
    records.destroy(workspace, "team", root["id"])
    for made in (root, child, grandchild):
        assert records.get(workspace, "team", made["id"], include_deleted=True) is None
        assert [e["kind"] for e in events(engine, made["id"])] == ["created", "destroyed"]


# -- upsert ----------------------------------------------------------------------------------------
def test_upsert_matches_the_stored_form_and_reports_the_recycle_bin(
    object_factory, records, workspace, engine
):
    object_factory(
        "person",
        [{"api_name": "email", "type": "email", "unique": True}, {"api_name": "name", "type": "text"}],
    )
    created, was_created = records.upsert(
        workspace, "person", "email", {"email": "ann@EXAMPLE.com", "name": "A"}
    )
    assert was_created and created["email"] == "ann@example.com"
    updated, was_created = records.upsert(
        workspace, "person", "email", {"email": "ann@Example.COM", "name": "Ann"}
    )
    assert (was_created, updated["id"], updated["name"]) == (False, created["id"], "Ann")
    assert [(e["kind"], e["changed_fields"]) for e in events(engine, created["id"])] == [
        ("created", None),
        ("updated", ["name"]),
    ]
    same, was_created = records.upsert(
        workspace, "person", "email", {"email": "ann@example.com", "name": "Ann"}
    )
    assert not was_created and same["updated_at"] == updated["updated_at"]
    records.delete(workspace, "person", created["id"])
    with pytest.raises(TesseraError) as caught:
        records.upsert(workspace, "person", "email", {"email": "ann@example.com"})
    assert (caught.value.code, caught.value.path) == ("DUPLICATE_VALUE", ("email",))
    assert "recycle bin" in caught.value.problems[0].message
    with pytest.raises(TesseraError) as caught:
        records.upsert(workspace, "person", "name", {"name": "x"})
    assert (caught.value.code, caught.value.path) == ("UPSERT_FIELD_NOT_UNIQUE", ("on",))
    with pytest.raises(TesseraError) as caught:
        records.upsert(workspace, "person", "email", {"email": "not an email"})
    assert (caught.value.code, caught.value.path) == ("INVALID_EMAIL", ("email",))


def test_concurrent_upserts_of_one_new_value_on_postgresql(company, records, workspace, dialect):
    """Both look, find nothing and insert: the second insert meets the first's row, and the
    second upsert updates it instead of failing."""
    if dialect != "postgresql":
        pytest.skip("SQLite serialises writers: concurrent upserts cannot be staged")
    barrier = threading.Barrier(2)
    outcomes: list[object] = []
    original = RecordWriter.unique_problems

    waited: set[int] = set()

    def checked_then_wait(self, *args, **kwargs):
        found = original(self, *args, **kwargs)
        if threading.get_ident() not in waited:  # the creates' checks, not the update's
            waited.add(threading.get_ident())
            barrier.wait(timeout=10)
        return found

    def upsert(size: int) -> None:
        try:
            outcomes.append(records.upsert(workspace, "company", "name", {"name": "Same", "size": size})[1])
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            outcomes.append(exc)

    RecordWriter.unique_problems = checked_then_wait  # type: ignore[method-assign]
    try:
        threads = [threading.Thread(target=upsert, args=(size,)) for size in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        RecordWriter.unique_problems = original  # type: ignore[method-assign]
    assert sorted(outcomes, key=str) == [False, True]
    with records.writer(workspace) as w:
        (only,) = w.update_many("company", {"name": {"eq": "Same"}}, {})
    assert only["size"] in (1, 2)


# -- validation rules over batches and lookups ---------------------------------------------------
def test_rules_on_update_many_and_through_lookups(deal, store, records, workspace):
    store.apply(
        workspace,
        changes.update_object(
            "deal",
            {
                "validation_rules": [
                    {
                        "name": "no_big_won",
                        "error_when": {"stage": {"eq": "won"}, "company": {"size": {"gt": 100}}},
                        "message": "Won deals of big companies go through the key-account team.",
                        "field": "stage",
                    }
                ]
            },
        ),
    )
    big = records.create(workspace, "company", {"name": "Big", "size": 500})
    small = records.create(workspace, "company", {"name": "Small", "size": 5})
    d1 = records.create(workspace, "deal", {"title": "a", "company": str(big["id"])})
    d2 = records.create(workspace, "deal", {"title": "b", "company": str(big["id"])})
    records.create(workspace, "deal", {"title": "c", "company": str(small["id"])})
    with pytest.raises(TesseraError) as caught:
        records.update_many(workspace, "deal", None, {"stage": "won"})
    (problem,) = caught.value.problems
    assert (problem.code, problem.path) == ("VALIDATION_RULE_FAILED", ("stage",))
    assert problem.details == {"rule": "no_big_won", "records": sorted([str(d1["id"]), str(d2["id"])])}
    assert {r["stage"] for r in records.update_many(workspace, "deal", None, {"title": "t"})} == {None}
    won = records.update_many(workspace, "deal", {"company": {"size": {"lt": 100}}}, {"stage": "won"})
    assert [r["title"] for r in won] == ["t"]
