"""Durable runs: every broker completes them, a killed worker's run is taken over once."""

# The fixtures shared with the other workflow tests are imported by name; pytest finds them.

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.platform.records import RecordService
from tessera.platform.tables import record_events
from tessera.workflows.delivery import DeliveryRuntime
from tessera.workflows.engine import LeaseLost, WorkflowEngine
from tessera.workflows.scheduler import WorkflowScheduler
from tests.conftest import Clock, unavailable
from tests.workflows.conftest import BROKERS, reachable, runs, task_titles, until

ON_CREATED = """
name: deal_created_follow_up
trigger: {type: record_created, object: deal}
steps:
  - {id: follow_up, type: create_record, object: task, values: {title: "Follow up {{ record.title }}", deal: "{{ record.id }}"}}
  - {id: pause, type: wait, duration: {minutes: 0}}
  - {id: mark, type: update_record, object: deal, record: "{{ record.id }}", values: {title: "done {{ record.title }}"}}
"""

AROUND_A_CALL = """
name: deal_created_call
trigger: {type: record_created, object: deal}
steps:
  - {id: first, type: create_record, object: task, values: {title: "first {{ record.title }}", deal: "{{ record.id }}"}}
  - {id: call, type: http_request, method: POST, url: "URL", json: {deal: "{{ record.id }}", title: "{{ record.title }}"}}
  - {id: second, type: create_record, object: task, values: {title: "second {{ record.title }}", deal: "{{ record.id }}"}}
"""

MANUAL = """
name: deal_manual_follow_up
trigger: {type: manual, object: deal}
steps:
  - {id: follow_up, type: create_record, object: task, values: {title: "Follow up {{ record.title }}", deal: "{{ record.id }}"}}
  - {id: mark, type: update_record, object: deal, record: "{{ record.id }}", values: {title: "done {{ record.title }}"}}
"""


def updates_of(engine: Engine, record_id: Any) -> int:
    with engine.connect() as conn:
        return len(
            conn.execute(
                sa.select(record_events.c.id).where(
                    record_events.c.record_id == record_id, record_events.c.kind == "updated"
                )
            ).all()
        )


def test_runs_complete_on_every_broker(
    active: Any, engine: Engine, broker_url: str, records: RecordService, workspace: str
):
    active(ON_CREATED)
    runtime = DeliveryRuntime(engine, broker_url, workflows=WorkflowEngine(engine), worker_threads=2)
    runtime.start()
    try:
        deals = records.create_many(workspace, "deal", [{"title": f"d{i}"} for i in range(5)])

        def all_succeeded() -> bool:
            found = [runs(engine, d["id"]) for d in deals]
            return all(len(r) == 1 and r[0]["status"] == "succeeded" for r in found)

        assert until(all_succeeded, seconds=60), [[r["status"] for r in runs(engine, d["id"])] for d in deals]
    finally:
        runtime.stop()
    assert task_titles(records, workspace) == sorted(f"Follow up d{i}" for i in range(5))
    for deal in deals:
        assert records.get(workspace, "deal", deal["id"])["title"] == f"done {deal['title']}"
        assert updates_of(engine, deal["id"]) == 1
        (run,) = runs(engine, deal["id"])
        assert [s["key"] for s in run["steps"] if s["status"] == "succeeded"] == [
            "follow_up",
            "pause",
            "mark",
        ]
        assert "pause" in run["results"]


@dataclass
class BlockingServer:
    """An HTTP server whose first request waits for ``release``; it notes every Idempotency-Key."""

    keys: list[str] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    first_arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""


@pytest.fixture
def blocking_server() -> Iterator[BlockingServer]:
    state = BlockingServer()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                state.keys.append(str(self.headers.get("Idempotency-Key")))
                state.bodies.append(json.loads(body or b"null"))
                first = len(state.keys) == 1
            if first:
                state.first_arrived.set()
                state.release.wait(timeout=120)
            answer = b'{"ok": true}'
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:
                pass  # the caller was killed while we held its request

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="blocking-http-server", daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_worker_killed_mid_run_completes_the_run_once(
    active: Any,
    database_url: str,
    engine: Engine,
    records: RecordService,
    workspace: str,
    blocking_server: BlockingServer,
    tmp_path: Path,
):
    if not database_url.startswith("postgresql"):
        pytest.skip("workers in other processes share the database: PostgreSQL")
    if not reachable(BROKERS["redis"]):
        unavailable("redis is not reachable")
    active(AROUND_A_CALL.replace("URL", blocking_server.url))
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": database_url,
        "TESSERA_BROKER_URL": BROKERS["redis"],
        "TESSERA_WORKFLOW_LEASE_SECONDS": "2",
        "TESSERA_ALLOW_PRIVATE_URLS": "true",
        "TESSERA_DATA_DIR": str(tmp_path),
    }
    workers: dict[str, subprocess.Popen[bytes]] = {}

    def start_worker(name: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"worker-{name}.log").open("wb") as log:
            workers[name] = subprocess.Popen(
                [sys.executable, "-m", "tessera.platform.cli", "worker", "--threads", "2"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return workers[name]

    try:
        worker_a = start_worker("a")
        deal = records.create(workspace, "deal", {"title": "Acme"})
        # The run is in the middle: `first` committed, `call` held by the server.
        assert blocking_server.first_arrived.wait(timeout=60), "worker A never called the server"
        os.kill(worker_a.pid, signal.SIGKILL)
        worker_a.wait(timeout=10)
        (run,) = runs(engine, deal["id"])
        assert run["status"] == "running" and list(run["results"]) == ["first"]
        assert task_titles(records, workspace) == ["first Acme"]
        blocking_server.release.set()

        worker_b = start_worker("b")

        def succeeded() -> bool:
            return [r["status"] for r in runs(engine, deal["id"])] == ["succeeded"]

        assert until(succeeded, seconds=60), runs(engine, deal["id"])
        (run,) = runs(engine, deal["id"])
        assert task_titles(records, workspace) == ["first Acme", "second Acme"]
        assert [s["key"] for s in run["steps"] if s["status"] == "succeeded"] == ["first", "call", "second"]
        assert run["steps"][1]["output"]["body"] == {"ok": True}
        # Worker A's request and worker B's, at least: the same key on every attempt.
        assert len(blocking_server.keys) >= 2
        assert set(blocking_server.keys) == {f"{run['id']}:call"}
        assert all(b == {"deal": str(deal["id"]), "title": "Acme"} for b in blocking_server.bodies)

        worker_b.send_signal(signal.SIGTERM)
        assert worker_b.wait(timeout=30) == 0
    except BaseException:
        for name in workers:
            print(f"--- worker {name} ---\n{(tmp_path / f'worker-{name}.log').read_text(errors='replace')}")
        raise
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def test_a_run_whose_worker_died_is_taken_over_when_its_lease_runs_out(
    active: Any, engine: Engine, records: RecordService, workspace: str
):
    active(MANUAL)
    clock = Clock()
    workflows = WorkflowEngine(engine, clock=lambda: clock.now, lease=dt.timedelta(seconds=30))
    scheduler = WorkflowScheduler(workflows, actor=None)
    deal = records.create(workspace, "deal", {"title": "Acme"})
    (run_id,) = workflows.run_manually(workspace, "deal_manual_follow_up", [deal["id"]])
    assert workflows.claim(run_id) is not None  # a worker took it, then died doing nothing

    assert scheduler.tick() == 0
    clock.now += dt.timedelta(seconds=29)
    assert scheduler.tick() == 0  # the lease still holds
    assert [r["status"] for r in runs(engine, deal["id"])] == ["running"]
    assert task_titles(records, workspace) == []

    clock.now += dt.timedelta(seconds=2)
    assert scheduler.tick() == 1  # the lease ran out: taken over, run here (no broker)
    (run,) = runs(engine, deal["id"])
    assert run["status"] == "succeeded"
    assert task_titles(records, workspace) == ["Follow up Acme"]
    assert records.get(workspace, "deal", deal["id"])["title"] == "done Acme"
    assert updates_of(engine, deal["id"]) == 1
    assert scheduler.tick() == 0

    # A stale worker that wakes up after another took its run over writes nothing.
    other = records.create(workspace, "deal", {"title": "Other"})
    (other_run,) = workflows.run_manually(workspace, "deal_manual_follow_up", [other["id"]])
    stale = workflows.claim(other_run)
    clock.now += dt.timedelta(seconds=31)
    fresh = workflows.claim(other_run)
    assert stale is not None and fresh is not None and stale != fresh
    with pytest.raises(LeaseLost):
        workflows.execute(other_run, stale)
    assert task_titles(records, workspace) == ["Follow up Acme"]  # its write was rolled back
    workflows.execute(other_run, fresh)
    assert [r["status"] for r in runs(engine, other["id"])] == ["succeeded"]
    assert task_titles(records, workspace) == ["Follow up Acme", "Follow up Other"]
