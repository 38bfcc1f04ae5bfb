"""The audit trail: fields marked track_history keep every change of their value (who,
when, old and new), written with the change itself and listed with filters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from tessera.platform.audit import HistoryFilter, record_history_of
from tessera.platform.errors import TesseraError
from tessera.platform.records import RecordService


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
