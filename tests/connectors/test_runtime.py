"""The connector runtime: discovery, checks, retries by the error taxonomy, schedules,
syncs as Dramatiq jobs, and connector actions in workflows."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import time
from collections.abc import Callable
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.engine import Engine

from tessera.connectors.runtime import (
    SYNC_QUEUE,
    ConnectorActions,
    ConnectorRuntime,
    installed_connectors,
)
from tessera.connectors.sdk import (
    AuthenticationError,
    ConfigurationError,
    Connector,
    PermanentError,
    RateLimited,
    TransientError,
)
from tessera.platform.records import RecordService
from tessera.workflows.actions import ActionCall, ActionFailed, ActionRegistry
from tessera.workflows.definitions import load_workflow
from tessera.workflows.delivery import DeliveryRuntime
from tessera.workflows.engine import WorkflowEngine
from tessera.workflows.store import WorkflowStore
from tests.conftest import Clock
from tests.connectors import sample
from tests.workflows.conftest import last_event


def test_installed_connectors_come_from_entry_points():
    found = installed_connectors()
    declared = {e.name for e in importlib.metadata.entry_points(group="tessera.connectors")}
    assert set(found) <= declared and found
    for name, connector in found.items():
        assert issubclass(connector, Connector) and connector.manifest.name == name


def test_check_reports_the_connectors_words(
    runtime: ConnectorRuntime, connection: Callable[..., Any], workspace: str
):
    connection()
    connection("wrong", config={"token": "bad"})
    assert runtime.check(workspace, "shop") == (True, "The connection works.")
    assert runtime.check(workspace, "wrong") == (False, "The catalogue refused the token.")


@pytest.mark.parametrize(
    ("error", "delay"),
    [(TransientError("The catalogue timed out."), 30), (RateLimited("Slow down.", retry_after=7), 7)],
)
def test_retryable_failures_are_retried_up_to_the_manifests_limit(
    runtime: ConnectorRuntime, connection: Callable[..., Any], workspace: str, error: Exception, delay: float
):
    sample.reset(items=2)
    connection(streams=["items"])
    sample.CATALOGUE["fail"] = [(1, error), (1, error), (1, error)]
    (run_id,) = runtime.queue_sync(workspace, "shop")
    assert runtime.run(run_id) == delay
    retrying = runtime.sync_run(run_id)
    assert retrying.status == "retrying" and retrying.due_at is not None
    assert retrying.error == {"kind": error.kind, "message": str(error)}  # type: ignore[attr-defined]
    assert runtime.run(run_id) is not None  # max_retries = 2: a second retry
    assert runtime.run(run_id) is None
    failed = runtime.sync_run(run_id)
    assert (failed.status, failed.attempts) == ("failed", 3)


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError("The token was refused."),
        ConfigurationError("No such shop."),
        PermanentError("The catalogue is gone."),
    ],
)
def test_final_failures_stop_at_once(
    runtime: ConnectorRuntime, connection: Callable[..., Any], workspace: str, error: Exception
):
    sample.reset(items=2)
    connection(streams=["items"])
    sample.CATALOGUE["fail"] = [(1, error)]
    (run_id,) = runtime.queue_sync(workspace, "shop")
    assert runtime.run(run_id) is None
    run = runtime.sync_run(run_id)
    assert (run.status, run.attempts, run.error) == (
        "failed",
        1,
        {"kind": error.kind, "message": str(error)},  # type: ignore[attr-defined]
    )
    assert runtime.run(run_id) is None  # a finished run is not run again


def test_a_connector_bug_fails_the_run_and_is_logged(
    runtime: ConnectorRuntime, connection: Callable[..., Any], workspace: str
):
    sample.reset(items=2)
    connection(streams=["items"])
    sample.CATALOGUE["fail"] = [(1, KeyError("oops"))]
    (run_id,) = runtime.queue_sync(workspace, "shop")
    assert runtime.run(run_id) is None
    run = runtime.sync_run(run_id)
    assert run.status == "failed" and run.error == {"kind": "internal", "message": "KeyError: 'oops'"}


def test_scheduled_connections_sync_when_their_cron_is_due(
    runtime: ConnectorRuntime, connection: Callable[..., Any], workspace: str, clock: Clock
):
    sample.reset(items=1)
    created = connection(streams=["items"], schedule="0 * * * *")
    assert created.next_sync_at == clock.now.replace(hour=11, minute=0)
    sent: list[Any] = []
    runtime.enqueue = sent.append
    runtime.tick()
    assert runtime.sync_runs(workspace, "shop") == []
    clock.advance(hours=1)
    runtime.tick()
    runtime.tick()
    (run,) = runtime.sync_runs(workspace, "shop")  # one run, however often the scheduler ticks
    assert (run.trigger, run.status) == ("schedule", "queued") and sent.count(run.id) == 1
    assert runtime.store.get(workspace, "shop").next_sync_at == clock.now.replace(hour=12, minute=0)


def test_a_retrying_run_goes_back_to_a_worker_when_its_time_comes(
    runtime: ConnectorRuntime, connection: Callable[..., Any], workspace: str, clock: Clock
):
    sample.reset(items=1)
    connection(streams=["items"])
    sample.CATALOGUE["fail"] = [(1, TransientError("timeout"))]
    sent: list[Any] = []
    runtime.enqueue = sent.append
    (run_id,) = runtime.queue_sync(workspace, "shop")
    runtime.tick()
    runtime.tick()
    assert sent.count(run_id) == 1  # a new run is handed over at once, and once
    assert runtime.run(run_id) == 30
    sent.clear()
    runtime.tick()
    assert run_id not in sent
    clock.advance(seconds=31)
    runtime.tick()
    assert sent.count(run_id) == 1


def test_syncs_run_as_dramatiq_jobs(
    runtime: ConnectorRuntime, connection: Callable[..., Any], records: RecordService, workspace: str
):
    sample.reset(items=4, brands=1)
    connection()
    broker = StubBroker()
    runtime.attach(broker)
    worker = dramatiq.Worker(broker, queues={SYNC_QUEUE}, worker_threads=1)
    worker.start()
    try:
        ids = runtime.queue_sync(workspace, "shop")
        assert runtime.tick() >= 2  # (on PostgreSQL, other tests' leftovers may be due too)
        broker.join(SYNC_QUEUE)
        worker.join()
    finally:
        worker.stop()
        broker.close()
    assert {runtime.sync_run(i).status for i in ids} == {"succeeded"}
    assert len(records.find(workspace, "item", {})) == 4


def call(workspace: str, key: str = "run-1:order") -> ActionCall:
    import uuid

    return ActionCall(workspace, uuid.uuid4(), "order", key)


def test_connector_actions_resolve_by_connection_or_connector_name(
    runtime: ConnectorRuntime, connection: Callable[..., Any], workspace: str
):
    sample.reset()
    connection("eu_shop")
    registry = ActionRegistry(resolve=ConnectorActions(runtime))
    first = registry.call("eu_shop.place_order", call(workspace), {"item": 1})
    assert first == {"order": "O-1", "repeated": False}
    again = registry.call("catalogue.place_order", call(workspace), {"item": 1})
    assert again == {"order": "O-1", "repeated": True}  # one idempotency key, one order
    connection("us_shop")
    with pytest.raises(ActionFailed) as ambiguous:
        registry.call("catalogue.place_order", call(workspace), {"item": 1})
    assert ambiguous.value.code == "UNKNOWN_CONNECTION" and "eu_shop, us_shop" in str(ambiguous.value)


@pytest.mark.parametrize(
    ("payload", "failure", "code", "retryable"),
    [
        ({"quantity": 1}, None, "INVALID_INPUT", False),
        ({"item": 1}, RateLimited("Slow down.", retry_after=3), "RATE_LIMITED", True),
        ({"item": 1}, TransientError("Timed out."), "CONNECTOR_TRANSIENT", True),
        ({"item": 1}, PermanentError("No such item."), "CONNECTOR_PERMANENT", False),
        ({"item": 1}, AuthenticationError("Bad token."), "CONNECTOR_AUTHENTICATION", False),
    ],
)
def test_connector_action_errors_map_to_retryable_or_final_failures(
    runtime: ConnectorRuntime,
    connection: Callable[..., Any],
    workspace: str,
    payload: dict[str, Any],
    failure: Exception | None,
    code: str,
    retryable: bool,
):
    sample.reset()
    connection()
    if failure is not None:
        sample.CATALOGUE["fail"] = [(0, failure)]
    registry = ActionRegistry(resolve=ConnectorActions(runtime))
    with pytest.raises(ActionFailed) as failed:
        registry.call("shop.place_order", call(workspace), payload)
    assert (failed.value.code, failed.value.retryable) == (code, retryable)
    if isinstance(failure, RateLimited):
        assert failed.value.retry_after == 3


def test_a_workflow_step_calls_a_connector_action(
    runtime: ConnectorRuntime,
    connection: Callable[..., Any],
    engine: Engine,
    records: RecordService,
    workspace: str,
):
    sample.reset()
    connection()
    store = WorkflowStore(engine)
    saved = store.save_draft(
        workspace,
        load_workflow(
            """
name: order_new_items
trigger: {type: record_created, object: item}
steps:
  - {id: order, type: connector_action, connector: shop, action: place_order, input: {item: 1}}
  - {id: note, type: update_record, object: item, record: "{{ record.id }}", values: {title: "{{ steps.order.result.order }}"}}
"""
        ),
    )
    store.activate(workspace, saved.name)
    item = records.create(workspace, "item", {"title": "Chair"})
    workflows = WorkflowEngine(engine, actions=ActionRegistry(resolve=ConnectorActions(runtime)))
    workflows.handle(last_event(engine, item["id"]))
    updated = records.get(workspace, "item", item["id"])
    assert updated is not None and updated["title"] == "O-1"


def test_the_delivery_runtime_runs_queued_syncs_in_process(
    runtime: ConnectorRuntime, connection: Callable[..., Any], records: RecordService, workspace: str
):
    """What `make run` does: a sync queued through the API is run by the in-process worker."""
    sample.reset(items=3)
    connection(streams=["items"])
    runtime.clock = lambda: dt.datetime.now(dt.UTC)
    delivery = DeliveryRuntime(runtime.engine, "stub://", connectors=runtime, worker_threads=1)
    delivery.start()
    try:
        (run_id,) = runtime.queue_sync(workspace, "shop")
        deadline = time.monotonic() + 20
        while runtime.sync_run(run_id).status != "succeeded" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        delivery.stop()
    assert runtime.sync_run(run_id).status == "succeeded"
    assert len(records.find(workspace, "item", {})) == 3


def test_a_run_whose_worker_died_is_taken_up_from_its_last_checkpoint(
    runtime: ConnectorRuntime,
    connection: Callable[..., Any],
    records: RecordService,
    workspace: str,
    clock: Clock,
):
    sample.reset(items=5)
    connection(streams=["items"])

    class Killed(BaseException):
        pass

    sample.CATALOGUE["fail"] = [(5, Killed())]  # the worker dies after the first checkpoint
    (run_id,) = runtime.queue_sync(workspace, "shop")
    with pytest.raises(Killed):
        runtime.run(run_id)
    assert runtime.sync_run(run_id).status == "running"
    sent: list[Any] = []
    runtime.enqueue = sent.append
    clock.advance(minutes=14)
    runtime.tick()
    assert run_id not in sent  # still within its heartbeat
    clock.advance(minutes=2)
    runtime.tick()
    assert sent.count(run_id) == 1
    assert runtime.sync_run(run_id).error == {
        "kind": "interrupted",
        "message": "The worker running it stopped; resumed.",
    }
    assert runtime.run(run_id) is None
    done = runtime.sync_run(run_id)
    assert (done.status, done.attempts, done.records_read, done.records_created) == ("succeeded", 2, 5, 5)
    assert len(records.find(workspace, "item", {})) == 5
