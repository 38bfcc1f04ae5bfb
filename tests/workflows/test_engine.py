"""The engine: record events start runs of the workflows they fire; steps write through the
record service; every step is recorded; a redelivered event starts nothing new."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx2 as httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.platform.errors import TesseraError
from tessera.platform.identity import IdentityService
from tessera.platform.records import RecordService
from tessera.platform.roles import RoleStore
from tessera.platform.tables import record_events
from tessera.workflows.actions import Action, ActionCall, ActionFailed, ActionRegistry
from tessera.workflows.definitions import load_workflow
from tessera.workflows.delivery import DeliveryRuntime, EventProcessor
from tessera.workflows.engine import WorkflowEngine, lookup, render
from tessera.workflows.http_request import HttpRequestAction
from tessera.workflows.mail import MemoryMailSender, SendEmailAction
from tessera.workflows.scheduler import WorkflowScheduler
from tessera.workflows.store import RunFilter, WorkflowStore
from tests.conftest import Clock
from tests.workflows.conftest import last_event, runs

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


def test_templates_are_value_paths():
    data = {"record": {"amount": 3, "title": "T"}, "steps": {"find": {"result": [{"email": "a@b.c"}]}}}
    assert render("{{ record.amount }}", data) == 3
    assert render("Hi {{ record.title }} ({{ steps.find.result[0].email }})", data) == "Hi T (a@b.c)"
    assert render("{{ record.amount }} x {{ record.title }}", data) == "3 x T"  # two templates: text
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
    assert run["steps"][0]["input"]["values"]["deal"] == str(deal["id"])  # what the step was given
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


# -- durable runs: waits, loops, retries, actions ----------------------------------------


class Flaky(Action):
    """An action that fails ``failures`` times (retryable or not), then echoes its input."""

    name = "test.flaky"

    def __init__(self, failures: int = 0, *, retryable: bool = True) -> None:
        self.failures = failures
        self.retryable = retryable
        self.calls: list[ActionCall] = []

    def execute(self, call: ActionCall, payload: Any) -> Any:
        self.calls.append(call)
        if len(self.calls) <= self.failures:
            raise ActionFailed("the other side is down", "TEST_DOWN", retryable=self.retryable)
        return {"echo": dict(payload)}


def on_created(steps: str, settings: str = "") -> str:
    return f"""
name: on_deal
trigger: {{type: record_created, object: deal}}
steps:
{steps}
{settings}
"""


def run_of(engine: Engine, record_id: Any) -> dict[str, Any]:
    (run,) = runs(engine, record_id)
    return run


def test_a_wait_step_suspends_the_run_until_its_time(
    active: Any, engine: Engine, records: RecordService, workspace: str, clock: Clock
):
    active(
        on_created(
            """  - {id: pause, type: wait, duration: {days: 3}}
  - {id: later, type: create_record, object: task, values: {title: "3 days after {{ record.title }}"}}"""
        )
    )
    workflows = WorkflowEngine(engine, clock=clock)
    scheduler = WorkflowScheduler(workflows, None)
    deal = records.create(workspace, "deal", {"title": "Acme"})
    workflows.handle(last_event(engine, deal["id"]))
    run = run_of(engine, deal["id"])
    assert run["status"] == "waiting" and run["wake_at"] == clock.now + dt.timedelta(days=3)
    clock.advance(days=2, hours=23)
    assert scheduler.tick() == 0
    assert records.ids_matching(workspace, "task", {}) == []
    clock.advance(hours=1)
    assert scheduler.tick() == 1
    assert run_of(engine, deal["id"])["status"] == "succeeded"
    (task_id,) = records.ids_matching(workspace, "task", {})
    assert records.get(workspace, "task", task_id)["title"] == "3 days after Acme"


def test_a_loop_runs_its_steps_for_each_item(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    records.create(workspace, "task", {"title": "one", "hours": 1})
    records.create(workspace, "task", {"title": "two", "hours": 2})
    active(
        on_created(
            """  - {id: open, type: find_records, object: task, filter: {hours: {gte: 1}}}
  - id: each
    type: loop
    over: "{{ steps.open.result }}"
    steps:
      - {id: copy, type: create_record, object: task, values: {title: "{{ loop.index }}: {{ loop.item.title }} for {{ record.title }}"}}"""
        )
    )
    deal = records.create(workspace, "deal", {"title": "Acme"})
    WorkflowEngine(engine).handle(last_event(engine, deal["id"]))
    run = run_of(engine, deal["id"])
    assert run["status"] == "succeeded", run["error"]
    assert [s["key"] for s in run["steps"]] == ["open", "each", "each[0].copy", "each[1].copy"]
    titles = {records.get(workspace, "task", i)["title"] for i in records.ids_matching(workspace, "task", {})}
    assert titles == {"one", "two", "0: one for Acme", "1: two for Acme"}


def test_a_loop_over_something_else_than_a_list_fails_clearly(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    active(
        on_created(
            """  - id: each
    type: loop
    over: "{{ record.title }}"
    steps: [{id: copy, type: create_record, object: task, values: {title: x}}]"""
        )
    )
    deal = records.create(workspace, "deal", {"title": "Acme"})
    WorkflowEngine(engine).handle(last_event(engine, deal["id"]))
    run = run_of(engine, deal["id"])
    assert run["status"] == "failed" and run["steps"][-1]["error"]["code"] == "LOOP_NOT_A_LIST"


def test_a_failing_action_is_retried_per_the_policy_with_one_idempotency_key(
    active: Any, engine: Engine, records: RecordService, workspace: str, clock: Clock
):
    active(
        on_created(
            """  - {id: made, type: create_record, object: task, values: {title: "for {{ record.title }}"}}
  - {id: call, type: connector_action, connector: test, action: flaky, input: {deal: "{{ record.title }}"}}""",
            "settings: {retry: {max_attempts: 3, backoff_seconds: 10}}",
        )
    )
    flaky = Flaky(failures=2)
    workflows = WorkflowEngine(engine, clock=clock, actions=ActionRegistry([flaky]))
    scheduler = WorkflowScheduler(workflows, None)
    deal = records.create(workspace, "deal", {"title": "Acme"})
    workflows.handle(last_event(engine, deal["id"]))
    run = run_of(engine, deal["id"])
    assert run["status"] == "waiting" and run["wake_at"] == clock.now + dt.timedelta(seconds=10)
    assert "attempt 1 of 3" in run["error"]
    clock.advance(seconds=10)
    scheduler.tick()
    assert run_of(engine, deal["id"])["wake_at"] == clock.now + dt.timedelta(seconds=20)  # backing off
    clock.advance(seconds=20)
    scheduler.tick()
    run = run_of(engine, deal["id"])
    assert run["status"] == "succeeded" and run["error"] is None
    assert [(s["key"], s["status"], s["attempt"]) for s in run["steps"]] == [
        ("made", "succeeded", 1),
        ("call", "failed", 1),
        ("call", "failed", 2),
        ("call", "succeeded", 3),
    ]
    assert {c.idempotency_key for c in flaky.calls} == {f"{run['id']}:call"}
    assert len(records.ids_matching(workspace, "task", {})) == 1  # the first step ran once


def test_a_failed_run_is_retried_from_its_failed_step(
    active: Any, engine: Engine, records: RecordService, workspace: str, clock: Clock
):
    active(
        on_created(
            """  - {id: made, type: create_record, object: task, values: {title: "for {{ record.title }}"}}
  - {id: call, type: connector_action, connector: test, action: flaky, input: {n: 1}}
  - {id: echo, type: update_record, object: task, record: "{{ steps.made.result.id }}", values: {hours: "{{ steps.call.result.echo.n }}"}}"""
        )
    )
    flaky = Flaky(failures=1, retryable=False)
    workflows = WorkflowEngine(engine, clock=clock, actions=ActionRegistry([flaky]))
    deal = records.create(workspace, "deal", {"title": "Acme"})
    workflows.handle(last_event(engine, deal["id"]))
    failed = run_of(engine, deal["id"])
    assert failed["status"] == "failed" and failed["error"].startswith("step 'call'")
    workflows.retry(workspace, failed["id"])
    assert run_of(engine, deal["id"])["status"] == "queued"
    WorkflowScheduler(workflows, None).tick()
    run = run_of(engine, deal["id"])
    assert run["status"] == "succeeded"
    (task_id,) = records.ids_matching(workspace, "task", {})  # "made" was not run again
    assert records.get(workspace, "task", task_id)["hours"] == 1
    with pytest.raises(TesseraError) as caught:
        workflows.retry(workspace, run["id"])
    assert caught.value.code == "RUN_NOT_FAILED"


def test_a_waiting_run_can_be_cancelled(
    active: Any, engine: Engine, records: RecordService, workspace: str, clock: Clock
):
    active(on_created("  - {id: pause, type: wait, duration: {hours: 1}}"))
    workflows = WorkflowEngine(engine, clock=clock)
    deal = records.create(workspace, "deal", {"title": "Acme"})
    workflows.handle(last_event(engine, deal["id"]))
    run_id = run_of(engine, deal["id"])["id"]
    workflows.cancel(workspace, run_id)
    clock.advance(hours=2)
    assert WorkflowScheduler(workflows, None).tick() == 0
    assert run_of(engine, deal["id"])["status"] == "cancelled"
    with pytest.raises(TesseraError) as caught:
        workflows.cancel(workspace, run_id)
    assert caught.value.code == "RUN_FINISHED"


def test_an_unknown_connector_action_fails_the_run_without_retries(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    active(on_created("  - {id: call, type: connector_action, connector: erp, action: nope}"))
    deal = records.create(workspace, "deal", {"title": "Acme"})
    WorkflowEngine(engine).handle(last_event(engine, deal["id"]))
    run = run_of(engine, deal["id"])
    assert run["status"] == "failed" and run["steps"][-1]["error"]["code"] == "UNKNOWN_ACTION"


def test_email_and_http_steps_go_through_their_actions(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"ticket": 42})

    active(
        on_created(
            """  - {id: hook, type: http_request, method: POST, url: "https://erp.example.com/deals", json: {title: "{{ record.title }}"}}
  - {id: mail, type: send_email, to: "owner@example.com", subject: "Won {{ record.title }}", body: "Ticket {{ steps.hook.result.body.ticket }}"}"""
        )
    )
    mail = MemoryMailSender()
    actions = ActionRegistry(
        [SendEmailAction(mail), HttpRequestAction(transport=httpx.MockTransport(answer))]
    )
    deal = records.create(workspace, "deal", {"title": "Acme"})
    WorkflowEngine(engine, actions=actions).handle(last_event(engine, deal["id"]))
    run = run_of(engine, deal["id"])
    assert run["status"] == "succeeded", run["error"]
    (request,) = seen
    assert json.loads(request.content) == {"title": "Acme"}
    assert request.headers["idempotency-key"] == f"{run['id']}:hook"
    (sent,) = mail.sent
    assert (sent.to, sent.subject, sent.text) == (("owner@example.com",), "Won Acme", "Ticket 42")


def test_a_workflow_writes_as_its_run_as_user(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    identity = IdentityService(engine)
    user = identity.create_user(workspace, "robot@example.com", "a long enough password").id
    active(
        on_created(
            """  - {id: made, type: create_record, object: task, values: {title: "x"}}""",
            f"settings: {{run_as: '{user}'}}",
        )
    )
    deal = records.create(workspace, "deal", {"title": "Acme"})
    WorkflowEngine(engine).handle(last_event(engine, deal["id"]))
    (task_id,) = records.ids_matching(workspace, "task", {})
    assert last_event(engine, task_id)["actor"] == user
    assert records.get(workspace, "task", task_id)["created_by"] == user


@pytest.mark.parametrize(
    ("role", "step", "code"),
    [
        ("viewer", "{id: made, type: create_record, object: task, values: {title: x}}", "FORBIDDEN"),
        (
            "planner",
            "{id: made, type: create_record, object: task, values: {title: x, hours: 3}}",
            "FORBIDDEN",
        ),
        ("planner", "{id: found, type: find_records, object: deal, filter: {amount: {gt: 1}}}", "FORBIDDEN"),
    ],
)
def test_a_workflow_has_no_more_rights_than_its_run_as_user(
    active: Any, engine: Engine, records: RecordService, workspace: str, role: str, step: str, code: str
):
    RoleStore(engine).save(
        workspace,
        {
            "name": "planner",
            "objects": {
                "task": {"operations": ["read", "create"], "fields": {"hours": "read"}},
                "deal": {"operations": ["read"], "fields": {"amount": "none"}},
            },
        },
    )
    user = IdentityService(engine).create_user(workspace, "robot@example.com", "a long password", role=role)
    active(on_created(f"  - {step}", f"settings: {{run_as: '{user.id}'}}"))
    deal = records.create(workspace, "deal", {"title": "Acme", "amount": 5})
    WorkflowEngine(engine).handle(last_event(engine, deal["id"]))
    (run,) = runs(engine, deal["id"])
    assert run["status"] == "failed" and run["steps"][0]["error"]["code"] == code
    assert records.ids_matching(workspace, "task", {}) == []


def test_run_as_must_be_an_active_user_of_the_workspace(active: Any, engine: Engine, workspace: str):
    identity = IdentityService(engine)
    user = identity.create_user(workspace, "robot@example.com", "a long enough password").id
    identity.set_active(workspace, "robot@example.com", False)
    for someone in (uuid.uuid4(), user):
        with pytest.raises(TesseraError) as caught:
            active(
                on_created(
                    "  - {id: made, type: create_record, object: task, values: {title: x}}",
                    f"settings: {{run_as: '{someone}'}}",
                )
            )
        assert (caught.value.code, caught.value.path) == ("UNKNOWN_USER", ("settings", "run_as"))


def test_a_run_started_manually_runs_on_each_record(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    active(
        """
name: nudge
trigger: {type: manual, object: deal}
steps:
  - {id: made, type: create_record, object: task, values: {title: "nudge {{ record.title }}", deal: "{{ record.id }}"}}
"""
    )
    workflows = WorkflowEngine(engine)
    deals = [records.create(workspace, "deal", {"title": t})["id"] for t in ("A", "B")]
    run_ids = workflows.run_manually(workspace, "nudge", deals)
    assert len(run_ids) == 2
    WorkflowScheduler(workflows, None).tick()
    titles = sorted(
        records.get(workspace, "task", i)["title"] for i in records.ids_matching(workspace, "task", {})
    )
    assert titles == ["nudge A", "nudge B"]
    with pytest.raises(TesseraError) as caught:
        workflows.run_manually(workspace, "nudge", [deals[0], uuid.uuid4()])
    assert (caught.value.code, caught.value.path) == ("RECORD_NOT_FOUND", ("recordIds", 1))
    with pytest.raises(TesseraError) as caught:
        workflows.run_manually(workspace, "nope", deals)
    assert caught.value.code == "UNKNOWN_WORKFLOW"


def test_a_wait_until_a_date_from_a_template(
    active: Any, engine: Engine, records: RecordService, workspace: str, clock: Clock
):
    active(
        on_created(
            """  - {id: find, type: find_records, object: task, filter: {title: {eq: due}}}
  - {id: pause, type: wait, until: "2026-12-03"}
  - {id: bad, type: wait, until: "{{ record.title }}"}"""
        )
    )
    workflows = WorkflowEngine(engine, clock=clock)
    deal = records.create(workspace, "deal", {"title": "not a date"})
    workflows.handle(last_event(engine, deal["id"]))
    waiting = run_of(engine, deal["id"])
    assert waiting["wake_at"] == dt.datetime(2026, 12, 3, tzinfo=dt.UTC)  # midnight, workspace time zone
    clock.now = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
    WorkflowScheduler(workflows, None).tick()
    run = run_of(engine, deal["id"])
    assert run["status"] == "failed" and run["steps"][-1]["error"]["code"] == "INVALID_DATE"
    assert [(s["key"], s["status"]) for s in run["steps"]] == [
        ("find", "succeeded"),
        ("pause", "waiting"),
        ("pause", "succeeded"),
        ("bad", "failed"),
    ]


def test_a_trigger_the_model_broke_does_not_stop_the_other_workflows(
    active: Any, engine: Engine, records: RecordService, store: Any, workspace: str
):
    from tessera.metadata import changes

    active(
        on_created("  - {id: big, type: create_record, object: task, values: {title: big}}").replace(
            "object: deal}", "object: deal, condition: {amount: {gt: 1}}}"
        )
    )
    active(
        on_created("  - {id: any, type: create_record, object: task, values: {title: any}}").replace(
            "name: on_deal", "name: on_any_deal"
        )
    )
    store.apply(workspace, changes.delete_field("deal", "amount"), confirm_data_loss=True)
    deal = records.create(workspace, "deal", {"title": "Acme"})
    WorkflowEngine(engine).handle(last_event(engine, deal["id"]))  # logs the broken one, runs the other
    assert [t["title"] for t in records.find(workspace, "task", {})] == ["any"]
