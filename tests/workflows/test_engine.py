"""The engine: record events start runs of the workflows they fire; steps write through the
record service; every step is recorded; a redelivered event starts nothing new."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.platform.records import RecordService
from tessera.platform.tables import record_events, workflow_runs
from tessera.workflows.definitions import load_workflow
from tessera.workflows.delivery import DeliveryRuntime, EventProcessor
from tessera.workflows.engine import WorkflowEngine, lookup, render
from tessera.workflows.store import RunFilter, WorkflowStore

DEAL_WON = """
name: deal_won_onboarding
trigger:
  type: record_updated
  object: deal
  fields: [stage]
  condition: {stage: {changed_to: won}}
steps:
  - id: onboarding
    type: create_record
    object: task
    values: {title: "Onboard {{ record.title }}", deal: "{{ record.id }}", hours: "{{ record.amount }}"}
  - id: size
    type: branch
    if: {amount: {gte: 1000}}
    then:
      - {id: big, type: update_record, object: deal, record: "{{ record.id }}", values: {title: "BIG {{ record.title }}"}}
    else:
      - {id: others, type: find_records, object: task, filter: {deal: {id: {eq: "{{ record.id }}"}}}}
"""


@pytest.fixture
def model(object_factory: Callable[..., Any]) -> None:
    object_factory(
        "deal",
        [
            {"api_name": "title", "type": "text"},
            {"api_name": "amount", "type": "integer"},
            {
                "api_name": "stage",
                "type": "select",
                "options": {"choices": [{"value": "new"}, {"value": "won"}]},
            },
        ],
    )
    object_factory(
        "task",
        [
            {"api_name": "title", "type": "text", "required": True},
            {"api_name": "hours", "type": "integer"},
            {"api_name": "deal", "type": "lookup", "options": {"target_object": "deal"}},
        ],
    )


@pytest.fixture
def active(model: None, engine: Engine, workspace: str) -> Callable[[str], None]:
    def activate(text: str) -> None:
        store = WorkflowStore(engine)
        saved = store.save_draft(workspace, load_workflow(text))
        store.activate(workspace, saved.name)

    return activate


def last_event(engine: Engine, record_id: Any) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                sa.select(record_events)
                .where(record_events.c.record_id == record_id)
                .order_by(record_events.c.created_at.desc())
            )
            .mappings()
            .first()
            or {}
        )


def runs(engine: Engine, record_id: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.select(workflow_runs).where(workflow_runs.c.record_id == record_id)
            ).mappings()
        ]


def test_templates_are_value_paths():
    data = {"record": {"amount": 3, "title": "T"}, "steps": {"find": {"result": [{"email": "a@b.c"}]}}}
    assert render("{{ record.amount }}", data) == 3
    assert render("Hi {{ record.title }} ({{ steps.find.result[0].email }})", data) == "Hi T (a@b.c)"
    assert render({"x": ["{{ record.nope }}"]}, data) == {"x": [None]}
    assert lookup(data, "steps.find.result[5].email") is None


def test_a_deal_won_creates_the_task_and_records_the_run(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    active(DEAL_WON)
    deal = records.create(workspace, "deal", {"title": "Acme", "amount": 5000, "stage": "new"})
    records.update(workspace, "deal", deal["id"], {"stage": "won"})
    processor = EventProcessor(engine, [WorkflowEngine(engine).handle])
    assert processor.process(str(last_event(engine, deal["id"])["id"])) is True
    (task,) = [records.get(workspace, "task", i) for i in records.ids_matching(workspace, "task", {})]
    assert (task["title"], task["hours"], task["deal"]) == ("Onboard Acme", 5000, deal["id"])
    assert records.get(workspace, "deal", deal["id"])["title"] == "BIG Acme"
    (run,) = runs(engine, deal["id"])
    assert run["status"] == "succeeded" and run["snapshot"]["name"] == "deal_won_onboarding"
    assert [(s["id"], s["status"]) for s in run["steps"]] == [
        ("onboarding", "succeeded"),
        ("size", "succeeded"),
        ("big", "succeeded"),
    ]
    assert run["steps"][0]["input"]["values"]["title"] == "Onboard Acme"
    assert run["steps"][1]["output"] == {"branch": "then"}


def test_the_else_branch_and_results_of_earlier_steps(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    active(DEAL_WON)
    deal = records.create(workspace, "deal", {"title": "Small", "amount": 10, "stage": "new"})
    records.update(workspace, "deal", deal["id"], {"stage": "won"})
    EventProcessor(engine, [WorkflowEngine(engine).handle]).process(str(last_event(engine, deal["id"])["id"]))
    (run,) = runs(engine, deal["id"])
    found = next(s for s in run["steps"] if s["id"] == "others")
    assert [t["title"] for t in found["output"]] == ["Onboard Small"]


def test_an_event_that_does_not_fire_starts_nothing(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    active(DEAL_WON)
    deal = records.create(workspace, "deal", {"title": "Acme", "stage": "new"})
    records.update(workspace, "deal", deal["id"], {"title": "Renamed"})
    EventProcessor(engine, [WorkflowEngine(engine).handle]).process(str(last_event(engine, deal["id"])["id"]))
    assert runs(engine, deal["id"]) == []


def test_a_redelivered_event_starts_no_second_run(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    active(DEAL_WON)
    deal = records.create(workspace, "deal", {"title": "Acme", "stage": "new"})
    records.update(workspace, "deal", deal["id"], {"stage": "won"})
    workflow_engine = WorkflowEngine(engine)
    event = last_event(engine, deal["id"])
    workflow_engine.handle(event)
    workflow_engine.handle(event)  # as if the message came twice before processed_at was set
    assert len(runs(engine, deal["id"])) == 1
    assert len(records.ids_matching(workspace, "task", {})) == 1


def test_a_failing_step_fails_the_run_with_its_error(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    active(DEAL_WON.replace('title: "Onboard {{ record.title }}", ', ""))  # task.title is required
    deal = records.create(workspace, "deal", {"title": "Acme", "stage": "new"})
    records.update(workspace, "deal", deal["id"], {"stage": "won"})
    WorkflowEngine(engine).handle(last_event(engine, deal["id"]))
    (run,) = runs(engine, deal["id"])
    assert run["status"] == "failed" and "title" in run["error"]
    assert run["steps"][0]["status"] == "failed" and run["steps"][0]["error"]["code"] == "FIELD_REQUIRED"
    assert records.ids_matching(workspace, "task", {}) == []


def test_end_to_end_on_the_in_process_broker(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    import time

    active(DEAL_WON)
    runtime = DeliveryRuntime(engine, "stub://", handlers=[WorkflowEngine(engine).handle], worker_threads=1)
    runtime.start()
    try:
        deal = records.create(workspace, "deal", {"title": "Acme", "amount": 1, "stage": "new"})
        records.update(workspace, "deal", deal["id"], {"stage": "won"})
        for _ in range(300):
            if runs(engine, deal["id"]) and runs(engine, deal["id"])[0]["status"] != "running":
                break
            time.sleep(0.05)
    finally:
        runtime.stop()
    assert runs(engine, deal["id"])[0]["status"] == "succeeded"


def test_runs_are_queryable_through_the_metadata_api(
    active: Any, engine: Engine, records: RecordService, workspace: str, client: Any
):
    active(DEAL_WON)
    deal = records.create(workspace, "deal", {"title": "Acme", "amount": 5000, "stage": "new"})
    records.update(workspace, "deal", deal["id"], {"stage": "won"})
    WorkflowEngine(engine).handle(last_event(engine, deal["id"]))
    query = """query($record: UUID) { workflowRuns(workflow: "deal_won_onboarding", recordId: $record) {
        workflow version status steps error } }"""
    answer = client.post(
        "/graphql/metadata", json={"query": query, "variables": {"record": str(deal["id"])}}
    ).json()
    (run,) = answer["data"]["workflowRuns"]
    assert (run["workflow"], run["version"], run["status"], run["error"]) == (
        "deal_won_onboarding",
        1,
        "succeeded",
        None,
    )
    assert [s["id"] for s in run["steps"]] == ["onboarding", "size", "big"]
    none = client.post(
        "/graphql/metadata", json={"query": '{ workflowRuns(status: "failed") { status } }'}
    ).json()
    assert none["data"]["workflowRuns"] == []


def test_the_loop_guard_stops_workflows_triggering_workflows(
    model: None, engine: Engine, records: RecordService, workspace: str
):
    store = WorkflowStore(engine)
    echo = """
name: echo
trigger: {type: record_created, object: task}
steps:
  - {id: again, type: create_record, object: task, values: {title: "echo of {{ record.title }}"}}
settings: {max_depth: 3}
"""
    store.save_draft(workspace, load_workflow(echo))
    store.activate(workspace, "echo")
    processor = EventProcessor(engine, [WorkflowEngine(engine).handle])
    records.create(workspace, "task", {"title": "start"})
    for _ in range(10):  # what the workers would do, one event after the other
        with engine.connect() as conn:
            pending = (
                conn.execute(
                    sa.select(record_events.c.id)
                    .where(record_events.c.processed_at.is_(None))
                    .order_by(record_events.c.created_at)
                )
                .scalars()
                .all()
            )
        if not pending:
            break
        for event_id in pending:
            processor.process(str(event_id))
    titles = sorted(
        records.get(workspace, "task", i)["title"] for i in records.ids_matching(workspace, "task", {})
    )
    assert titles == ["echo of echo of echo of start", "echo of echo of start", "echo of start", "start"]
    statuses = sorted(r.status for r in store.runs(workspace, RunFilter(workflow="echo")))
    assert statuses == ["failed", "succeeded", "succeeded", "succeeded"]
    (stopped,) = store.runs(workspace, RunFilter(workflow="echo", statuses=("failed",)))
    assert stopped.error is not None and stopped.error.startswith("LOOP_GUARD")


def test_a_record_step_given_something_else_than_an_id_fails_the_run_cleanly(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    active(DEAL_WON.replace('record: "{{ record.id }}"', 'record: "{{ record.title }}"'))
    deal = records.create(workspace, "deal", {"title": "Acme", "amount": 5000, "stage": "new"})
    records.update(workspace, "deal", deal["id"], {"stage": "won"})
    WorkflowEngine(engine).handle(last_event(engine, deal["id"]))
    (run,) = runs(engine, deal["id"])
    assert run["status"] == "failed" and run["finished_at"] is not None
    assert run["steps"][-1]["error"]["code"] == "INVALID_ID"
