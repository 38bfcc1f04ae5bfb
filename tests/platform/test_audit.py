"""The audit trail: fields marked track_history keep every change of their value (who,
when, old and new), written with the change itself and listed with filters; admin work
(roles, users, API keys) is recorded with what it was before and after."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tessera.platform.audit import AdminEventFilter, HistoryFilter, admin_events, record_history_of
from tessera.platform.errors import TesseraError
from tessera.platform.identity import IdentityService
from tessera.platform.records import RecordService
from tessera.platform.roles import RoleStore


@pytest.fixture
def deal(object_factory: Callable[..., Any]) -> None:
    object_factory(
        "deal",
        [
            {"api_name": "title", "type": "text"},
            {"api_name": "amount", "type": "integer", "track_history": True},
            {
                "api_name": "stage",
                "type": "select",
                "track_history": True,
                "options": {"choices": [{"value": "new"}, {"value": "won"}]},
            },
        ],
        validation_rules=[{"name": "positive", "error_when": {"amount": {"lt": 0}}, "message": "No."}],
    )


def test_tracked_fields_keep_every_change(deal: None, records: RecordService, engine: Any, workspace: str):
    made = records.create(workspace, "deal", {"title": "Acme", "amount": 10, "stage": "new"})
    records.update(workspace, "deal", made["id"], {"title": "Acme 2"})  # not tracked: no entry
    records.update(workspace, "deal", made["id"], {"amount": 20, "stage": "won"})
    records.delete(workspace, "deal", made["id"])  # the recycle bin changes no value
    entries = record_history_of(engine, workspace, HistoryFilter(record_id=made["id"]))
    assert sorted((e.field, e.kind, e.old_value, e.new_value) for e in entries) == [
        ("amount", "created", None, 10),
        ("amount", "updated", 10, 20),
        ("stage", "created", None, "new"),
        ("stage", "updated", "new", "won"),
    ]
    only_amount = record_history_of(engine, workspace, HistoryFilter(object="deal", field="amount"))
    assert [e.new_value for e in only_amount] == [20, 10]  # newest first


def test_a_refused_write_leaves_no_history(deal: None, records: RecordService, engine: Any, workspace: str):
    made = records.create(workspace, "deal", {"title": "Acme", "amount": 10})
    with pytest.raises(TesseraError):
        records.update(workspace, "deal", made["id"], {"amount": -5})
    assert [e.new_value for e in record_history_of(engine, workspace, HistoryFilter(field="amount"))] == [10]


def test_history_through_the_metadata_api_says_who(
    deal: None, client: TestClient, engine: Any, workspace: str
):
    created = client.post(
        "/graphql",
        json={"query": 'mutation { createDeal(input: {title: "A", amount: 5}) { id created_by } }'},
    ).json()
    deal_id, key_id = created["data"]["createDeal"]["id"], created["data"]["createDeal"]["created_by"]
    client.post(
        "/graphql",
        json={"query": f'mutation {{ updateDeal(id: "{deal_id}", input: {{amount: 7}}) {{ id }} }}'},
    )
    query = """query($filter: RecordHistoryFilter) {
        recordHistory(filter: $filter) { object recordId field kind oldValue newValue actor } }"""
    answer = client.post(
        "/graphql/metadata",
        json={"query": query, "variables": {"filter": {"recordId": deal_id, "field": "amount"}}},
    ).json()
    assert answer["data"]["recordHistory"] == [
        {
            "object": "deal",
            "recordId": deal_id,
            "field": "amount",
            "kind": "updated",
            "oldValue": 5,
            "newValue": 7,
            "actor": key_id,
        },
        {
            "object": "deal",
            "recordId": deal_id,
            "field": "amount",
            "kind": "created",
            "oldValue": None,
            "newValue": 5,
            "actor": key_id,
        },
    ]
    fields = client.post(
        "/graphql/metadata", json={"query": '{ object(apiName: "deal") { fields { apiName trackHistory } } }'}
    ).json()
    tracked = {f["apiName"]: f["trackHistory"] for f in fields["data"]["object"]["fields"]}
    assert (tracked["amount"], tracked["title"]) == (True, False)


def test_tracking_can_be_switched_on_later(
    deal: None,
    field_factory: Callable[..., Any],
    store: Any,
    records: RecordService,
    engine: Any,
    workspace: str,
):
    from tessera.metadata import changes

    made = records.create(workspace, "deal", {"title": "Acme"})
    store.apply(workspace, changes.update_field("deal", "title", {"track_history": True}))
    records.update(workspace, "deal", made["id"], {"title": "Acme 2"})
    (entry,) = record_history_of(engine, workspace, HistoryFilter(field="title"))
    assert (entry.old_value, entry.new_value) == ("Acme", "Acme 2")


def test_admin_work_is_in_the_audit_trail(engine: Engine, workspace: str, object_factory: Callable[..., Any]):
    object_factory("deal", [{"api_name": "name", "type": "text"}])
    identity, roles = IdentityService(engine), RoleStore(engine)
    roles.save(workspace, {"name": "sales", "objects": {"deal": {"operations": ["read"]}}}, actor="ada")
    roles.save(
        workspace, {"name": "sales", "objects": {"deal": {"operations": ["read", "create"]}}}, actor="ada"
    )
    identity.create_user(workspace, "bob@example.com", "a long password", role="sales", actor="ada")
    identity.set_role(workspace, "bob@example.com", "viewer", actor="ada")
    identity.set_team(workspace, "bob@example.com", "east", actor="eve")
    identity.set_active(workspace, "bob@example.com", False, actor="eve")
    _, key = identity.create_api_key(workspace, "erp", role="member", created_by="eve")
    identity.revoke_api_key(workspace, key.id, actor="eve")
    roles.delete(workspace, "sales", actor="eve")
    trail = [(e.kind, e.subject, e.actor) for e in reversed(admin_events(engine, workspace))]
    assert trail == [
        ("role_saved", "sales", "ada"),
        ("role_saved", "sales", "ada"),
        ("user_created", "bob@example.com", "ada"),
        ("user_changed", "bob@example.com", "ada"),
        ("user_changed", "bob@example.com", "eve"),
        ("user_changed", "bob@example.com", "eve"),
        ("api_key_created", "erp", "eve"),
        ("api_key_revoked", "erp", "eve"),
        ("role_deleted", "sales", "eve"),
    ]
    second_save = admin_events(engine, workspace, AdminEventFilter(kind="role_saved"))[0]
    assert second_save.before["objects"]["deal"]["operations"] == ["read"]
    assert second_save.after["objects"]["deal"]["operations"] == ["read", "create"]
    (role_change,) = admin_events(engine, workspace, AdminEventFilter(actor="ada", kind="user_changed"))
    assert (role_change.before, role_change.after) == ({"role": "sales"}, {"role": "viewer"})
    assert len(admin_events(engine, workspace, AdminEventFilter(subject="erp"))) == 2
    assert (
        admin_events(engine, workspace, AdminEventFilter(after=role_change.at + dt.timedelta(hours=1))) == []
    )
