"""Runs through the metadata API: runWorkflow, workflowRuns(filter), retry and cancel."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tessera.platform.records import RecordService
from tessera.workflows.definitions import load_workflow
from tessera.workflows.store import WorkflowStore

NUDGE = """
name: nudge
trigger: {type: manual, object: deal}
steps:
  - {id: note, type: create_record, object: task, values: {title: "nudge {{ record.title }}"}}
  - {id: pause, type: wait, duration: {days: 1}}
"""


@pytest.fixture
def nudge(object_factory: Callable[..., Any], engine: Engine, workspace: str) -> None:
    object_factory("deal", [{"api_name": "title", "type": "text"}])
    object_factory("task", [{"api_name": "title", "type": "text", "required": True}])
    store = WorkflowStore(engine)
    store.save_draft(workspace, load_workflow(NUDGE))
    store.activate(workspace, "nudge")


def post(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    answer: dict[str, Any] = client.post(
        "/graphql/metadata", json={"query": query, "variables": variables}
    ).json()
    return answer


RUNS = """query($filter: WorkflowRunFilter) { workflowRuns(filter: $filter) { id status trigger recordId wakeAt } }"""


def test_run_workflow_queues_runs_that_the_workers_take(
    nudge: None, client: TestClient, records: RecordService, workspace: str
):
    deal = records.create(workspace, "deal", {"title": "Acme"})
    started = post(
        client,
        'mutation($ids: [UUID!]!) { runWorkflow(workflowId: "nudge", recordIds: $ids) }',
        ids=[str(deal["id"])],
    )
    (run_id,) = started["data"]["runWorkflow"]
    for _ in range(200):
        runs = post(client, RUNS, filter={"status": ["waiting"]})["data"]["workflowRuns"]
        if runs:
            break
        time.sleep(0.05)
    assert [(r["id"], r["trigger"], r["recordId"]) for r in runs] == [(run_id, "manual", str(deal["id"]))]
    assert runs[0]["wakeAt"] is not None
    assert post(client, RUNS, filter={"trigger": "schedule"})["data"]["workflowRuns"] == []
    cancelled = post(client, f'mutation {{ cancelWorkflowRun(id: "{run_id}") {{ status }} }}')
    assert cancelled["data"]["cancelWorkflowRun"] == {"status": "cancelled"}
    refused = post(client, f'mutation {{ retryWorkflowRun(id: "{run_id}") {{ status }} }}')
    assert refused["errors"][0]["extensions"]["code"] == "RUN_NOT_FAILED"


def test_run_workflow_errors_name_the_input(
    nudge: None, client: TestClient, records: RecordService, workspace: str
):
    deal = records.create(workspace, "deal", {"title": "Acme"})
    missing = post(
        client,
        'mutation($ids: [UUID!]!) { runWorkflow(workflowId: "nudge", recordIds: $ids) }',
        ids=[str(deal["id"]), "00000000-0000-0000-0000-000000000000"],
    )
    error = missing["errors"][0]
    assert error["extensions"]["code"] == "RECORD_NOT_FOUND"
    assert error["extensions"]["inputPath"] == ["recordIds", 1]
    unknown = post(client, 'mutation { runWorkflow(workflowId: "nope", recordIds: []) }')
    assert unknown["errors"][0]["extensions"]["code"] == "UNKNOWN_WORKFLOW"
    assert post(client, RUNS)["data"]["workflowRuns"] == []  # nothing was queued
