"""Record events reach Dramatiq workers once each — stub broker, Redis and RabbitMQ."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.platform.records import RecordService
from tessera.platform.tables import record_events, workspaces
from tessera.workflows.delivery import DeliveryRuntime, OutboxDispatcher, create_broker
from tests.conftest import unavailable
from tests.workflows.conftest import BROKERS, reachable, until


@pytest.fixture
def note(object_factory: Callable[..., Any]) -> None:
    object_factory("note", [{"api_name": "title", "type": "text"}])


def workspace_events(engine: Engine, workspace: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(record_events)
            .join(workspaces, workspaces.c.id == record_events.c.workspace_id)
            .where(workspaces.c.slug == workspace)
            .order_by(record_events.c.created_at)
        ).mappings()
        return [dict(r) for r in rows]


@pytest.fixture
def runtime(engine: Engine, broker_url: str) -> Iterator[tuple[DeliveryRuntime, list[dict[str, Any]]]]:
    handled: list[dict[str, Any]] = []
    runtime = DeliveryRuntime(engine, broker_url, handlers=[handled.append], worker_threads=2)
    runtime.start()
    try:
        yield runtime, handled
    finally:
        runtime.stop()


def test_every_event_is_handled_once(
    note: None, runtime: Any, records: RecordService, workspace: str, engine: Engine
):
    _, handled = runtime
    made = records.create_many(workspace, "note", [{"title": f"n{i}"} for i in range(20)])
    records.update(workspace, "note", made[0]["id"], {"title": "changed"})
    assert until(lambda: all(e["processed_at"] for e in workspace_events(engine, workspace)))
    mine = [e for e in handled if e["record_id"] in {m["id"] for m in made}]
    assert sorted(e["kind"] for e in mine) == ["created"] * 20 + ["updated"]
    assert len({e["id"] for e in mine}) == len(mine)  # no event handled twice


def set_aside_other_workspaces_events(engine: Engine, workspace: str) -> None:
    with engine.begin() as conn:
        ours = sa.select(workspaces.c.id).where(workspaces.c.slug == workspace).scalar_subquery()
        conn.execute(
            sa.update(record_events)
            .where(record_events.c.processed_at.is_(None), record_events.c.workspace_id != ours)
            .values(processed_at=dt.datetime.now(dt.UTC))
        )


def test_a_crash_between_commit_and_enqueue_loses_nothing(
    note: None, engine: Engine, broker_url: str, records: RecordService, workspace: str
):
    handled: list[dict[str, Any]] = []
    runtime = DeliveryRuntime(engine, broker_url, handlers=[handled.append], worker_threads=1)
    made = records.create(workspace, "note", {"title": "lost?"})
    # The dispatcher commits dispatched_at, then dies before sending.
    crashed = OutboxDispatcher(engine, runtime.actor, batch_size=1_000_000)
    assert made["id"] in {e["record_id"] for e in workspace_events(engine, workspace)}
    claimed = crashed.claim()
    assert claimed
    event = next(e for e in workspace_events(engine, workspace) if e["record_id"] == made["id"])
    assert event["dispatched_at"] is not None and event["processed_at"] is None
    # Nothing is sent again before redeliver_after …
    assert event["id"] not in OutboxDispatcher(engine, runtime.actor, batch_size=1_000_000).claim()
    # … and everything unprocessed is sent again after it. (On PostgreSQL the database is
    # shared: earlier tests' unprocessed events would be redelivered too, first, and could
    # outlast the wait; they are marked processed.)
    set_aside_other_workspaces_events(engine, workspace)
    later = OutboxDispatcher(engine, runtime.actor, redeliver_after=dt.timedelta(0), batch_size=1_000_000)
    runtime.worker.start()
    try:
        assert later.dispatch_once() >= 1
        assert until(lambda: any(e["record_id"] == made["id"] for e in handled))
    finally:
        runtime.stop()
    assert [e["record_id"] for e in handled].count(made["id"]) == 1


def test_a_redelivered_event_is_not_handled_twice(
    note: None, engine: Engine, records: RecordService, workspace: str
):
    handled: list[dict[str, Any]] = []
    runtime = DeliveryRuntime(engine, "stub://", handlers=[handled.append])
    made = records.create(workspace, "note", {"title": "once"})
    event = next(e for e in workspace_events(engine, workspace) if e["record_id"] == made["id"])
    assert runtime.processor.process(str(event["id"])) is True
    assert runtime.processor.process(str(event["id"])) is False
    assert len(handled) == 1


def test_a_failing_handler_leaves_the_event_unprocessed(
    note: None, engine: Engine, records: RecordService, workspace: str
):
    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    runtime = DeliveryRuntime(engine, "stub://", handlers=[broken])
    made = records.create(workspace, "note", {"title": "x"})
    event = next(e for e in workspace_events(engine, workspace) if e["record_id"] == made["id"])
    with pytest.raises(RuntimeError):
        runtime.processor.process(str(event["id"]))
    after = next(e for e in workspace_events(engine, workspace) if e["id"] == event["id"])
    assert after["processed_at"] is None


def test_brokers_and_retry_policy():
    broker = create_broker("stub://")
    retries = next(m for m in broker.middleware if type(m).__name__ == "Retries")
    assert retries.max_retries == 5
    with pytest.raises(ValueError, match="TESSERA_BROKER_URL"):
        create_broker("kafka://nope")


def test_the_server_processes_events_in_process_on_the_embedded_default(
    note: None, client: Any, engine: Engine, workspace: str
):
    created = client.post(
        "/graphql", json={"query": 'mutation { createNote(input: {title: "hi"}) { id } }'}
    ).json()
    record_id = created["data"]["createNote"]["id"]
    assert until(
        lambda: any(
            str(e["record_id"]) == record_id and e["processed_at"]
            for e in workspace_events(engine, workspace)
        )
    )


def test_tessera_worker_processes_events_from_another_process(
    note: None, database_url: str, engine: Engine, records: RecordService, workspace: str, tmp_path: Any
):
    import os
    import signal
    import subprocess
    import sys

    if not database_url.startswith("postgresql"):
        pytest.skip("a worker in another process shares the database: PostgreSQL")
    if not reachable(BROKERS["redis"]):
        unavailable("redis is not reachable")
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": database_url,
        "TESSERA_BROKER_URL": BROKERS["redis"],
        "TESSERA_DATA_DIR": str(tmp_path),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "tessera.platform.cli", "worker", "--threads", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        made = records.create(workspace, "note", {"title": "far away"})
        assert until(
            lambda: any(
                e["record_id"] == made["id"] and e["processed_at"]
                for e in workspace_events(engine, workspace)
            ),
            seconds=30,
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
