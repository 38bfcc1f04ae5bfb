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


def test_owner_is_the_actor_unless_given(company, records, workspace):
    me, other = uuid.uuid4(), uuid.uuid4()
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
