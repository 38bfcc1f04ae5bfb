"""Which workflows a record event fires: kinds, objects, watched fields, change operators
and the filter language on the current record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.metadata.storage import Tables
from tessera.metadata.store import MetadataStore
from tessera.platform.records import RecordService
from tessera.platform.tables import record_events
from tessera.platform.workspaces import WorkspaceService
from tessera.workflows.triggers import fires


@pytest.fixture
def model(object_factory: Callable[..., Any]) -> None:
    object_factory(
        "deal",
        [
            {"api_name": "title", "type": "text"},
            {"api_name": "amount", "type": "decimal"},
            {
                "api_name": "stage",
                "type": "select",
                "options": {"choices": [{"value": "new"}, {"value": "won"}, {"value": "lost"}]},
            },
        ],
    )
    object_factory("note", [{"api_name": "title", "type": "text"}])


@pytest.fixture
def check(model: None, engine: Engine, store: MetadataStore, workspace: str) -> Callable[..., bool]:
    """Whether ``trigger`` fires for the last event of ``record_id``."""

    def run(trigger: dict[str, Any], record_id: Any) -> bool:
        tables = Tables(
            WorkspaceService(engine).get(workspace).namespace(engine.dialect.name), store.state(workspace)
        )
        with engine.connect() as conn:
            event = (
                conn.execute(
                    sa.select(record_events)
                    .where(record_events.c.record_id == record_id)
                    .order_by(record_events.c.created_at.desc())
                    .limit(1)
                )
                .mappings()
                .one()
            )
            return fires(conn, tables, event, trigger)

    return run


def test_kinds_and_objects(check: Callable[..., bool], records: RecordService, workspace: str):
    deal = records.create(workspace, "deal", {"title": "d"})
    assert check({"type": "record_created", "object": "deal"}, deal["id"])
    assert not check({"type": "record_created", "object": "note"}, deal["id"])
    assert not check({"type": "record_updated", "object": "deal"}, deal["id"])
    records.delete(workspace, "deal", deal["id"])
    assert check({"type": "record_deleted", "object": "deal"}, deal["id"])


def test_watched_fields(check: Callable[..., bool], records: RecordService, workspace: str):
    deal = records.create(workspace, "deal", {"title": "d"})
    records.update(workspace, "deal", deal["id"], {"title": "renamed"})
    assert check({"type": "record_updated", "object": "deal"}, deal["id"])
    assert check({"type": "record_updated", "object": "deal", "fields": ["title", "stage"]}, deal["id"])
    assert not check({"type": "record_updated", "object": "deal", "fields": ["stage"]}, deal["id"])


def test_change_operators(check: Callable[..., bool], records: RecordService, workspace: str):
    deal = records.create(workspace, "deal", {"title": "d", "stage": "new", "amount": "10"})
    records.update(workspace, "deal", deal["id"], {"stage": "won"})
    updated = {"type": "record_updated", "object": "deal"}
    assert check({**updated, "condition": {"stage": {"changed_to": "won"}}}, deal["id"])
    assert check(
        {**updated, "condition": {"stage": {"changed_from": "new", "changed_to": "won"}}}, deal["id"]
    )
    assert not check({**updated, "condition": {"stage": {"changed_to": "lost"}}}, deal["id"])
    assert not check({**updated, "condition": {"stage": {"changed_from": "won"}}}, deal["id"])
    assert check(
        {**updated, "condition": {"stage": {"changed": True}, "amount": {"changed": False}}}, deal["id"]
    )
    assert not check({**updated, "condition": {"amount": {"changed": True}}}, deal["id"])


def test_operands_are_converted_like_values(
    check: Callable[..., bool], records: RecordService, workspace: str
):
    deal = records.create(workspace, "deal", {"title": "d", "amount": "9.5"})
    records.update(workspace, "deal", deal["id"], {"amount": "10"})
    assert check(
        {"type": "record_updated", "object": "deal", "condition": {"amount": {"changed_to": 10}}}, deal["id"]
    )


def test_the_filter_language_on_the_current_record(
    check: Callable[..., bool], records: RecordService, workspace: str
):
    deal = records.create(workspace, "deal", {"title": "Big one", "stage": "new", "amount": "5000"})
    records.update(workspace, "deal", deal["id"], {"stage": "won"})
    condition = {"stage": {"changed_to": "won"}, "amount": {"gte": 1000}, "title": {"startsWith": "big"}}
    assert check({"type": "record_updated", "object": "deal", "condition": condition}, deal["id"])
    condition["amount"] = {"gte": 10000}
    assert not check({"type": "record_updated", "object": "deal", "condition": condition}, deal["id"])
