"""Benchmark: workflow runs end to end, on Redis with worker processes.

Creates the database ``tessera_bench_workflows`` on the PostgreSQL server, a workspace with
``deal`` (title, amount) and ``task`` (title, lookup to deal), and one active workflow:
``record_created`` on ``deal`` → one ``create_record`` step writing the task
``"Follow up {{ record.title }}"`` linked to the deal. It empties a Redis database of its
own (``--redis-url``, default ``redis://127.0.0.1:6379/5``), starts ``--workers`` processes
of ``tessera worker --threads N`` on it and waits until they run a warm-up workflow.

First ``--paced`` deals are written one at a time (``--paced-rate`` a second, a pace the
workers keep up with): the latency of an idle pipeline. Then ``--writers`` threads of this
process write ``--events`` deals through the record service, one per transaction, as fast
as they can, and the benchmark waits (``--timeout``) until every run they started has
succeeded. It reports

- the end-to-end throughput: runs completed / (last run's ``finished_at`` minus the first
  deal's commit), the deals being written meanwhile;
- the latency from commit to action, per run: the run's ``finished_at`` minus its record
  event's ``created_at`` (stamped in the deal's transaction, just before its commit),
  median and p99, under that load and in the paced phase;
- the rate of the deal writes alone (deals per second seen by the writers, who share the
  machine with the workers).

The baseline, measured in the same run, is the raw SQL cost of the same effect: the same
number of ``task`` rows inserted with SQLAlchemy Core ``insert``, one row per transaction,
from as many threads, on a plain engine. It includes the INSERT, its commit and the
connection pool; it does not include anything that makes the effect happen from a deal:
no deal row, no record event, no outbox dispatch, no Redis round trip, no run row (start,
claim, checkpoint, finish), no validation nor data-model load. The deals' write rate is
compared the same way with raw ``deal`` inserts. A ratio is the baseline's rate over
Tessera's: what the durable, exactly-once pipeline costs on top of the bare write.

    .venv/bin/python benchmarks/workflows.py [--events 2000] [--workers 2] [--threads 4] [--writers 4]
        [--paced 50] [--paced-rate 10] [--redis-url redis://127.0.0.1:6379/5]

PostgreSQL and Redis must be reachable; when one is not, the benchmark says so and exits 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from _databases import drop_database, fresh_database

from tessera.metadata import changes
from tessera.metadata.storage import Tables
from tessera.metadata.store import MetadataStore
from tessera.platform import migrate
from tessera.platform.database import create_engine
from tessera.platform.records import RecordService
from tessera.platform.tables import record_events, workflow_runs
from tessera.platform.workspaces import WorkspaceService, get_workspace
from tessera.workflows.definitions import load_workflow
from tessera.workflows.store import WorkflowStore

BENCH_DATABASE = "tessera_bench_workflows"
REDIS_URL = "redis://127.0.0.1:6379/5"
WORKSPACE = "bench"
WARM_UP_DEALS = 20
WORKFLOW = """
name: follow_up_new_deals
trigger: {type: record_created, object: deal}
steps:
  - id: follow_up
    type: create_record
    object: task
    values: {title: "Follow up {{ record.title }}", deal: "{{ record.id }}"}
"""


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def prepare_database() -> str | None:
    """A fresh benchmark database; its URL, or ``None`` (and why) when PostgreSQL is down."""
    try:
        return fresh_database(BENCH_DATABASE)
    except sa.exc.OperationalError as exc:
        print(f"workflows benchmark skipped: PostgreSQL is unreachable ({exc.orig})")
        return None


def define_model(engine: sa.Engine) -> None:
    """Migrations, the workspace, ``deal`` and ``task``, and the active workflow."""
    migrate.upgrade(engine)
    WorkspaceService(engine).create(WORKSPACE)
    store = MetadataStore(engine)
    store.apply(
        WORKSPACE,
        changes.create_object(
            {
                "api_name": "deal",
                "fields": [{"api_name": "title", "type": "text"}, {"api_name": "amount", "type": "integer"}],
            }
        ),
    )
    store.apply(
        WORKSPACE,
        changes.create_object(
            {
                "api_name": "task",
                "fields": [
                    {"api_name": "title", "type": "text", "required": True},
                    {"api_name": "deal", "type": "lookup", "options": {"target_object": "deal"}},
                ],
            }
        ),
    )
    workflows = WorkflowStore(engine)
    saved = workflows.save_draft(WORKSPACE, load_workflow(WORKFLOW))
    workflows.activate(WORKSPACE, saved.name)


def record_table(engine: sa.Engine, api_name: str) -> sa.Table:
    with engine.connect() as conn:
        workspace = get_workspace(conn, WORKSPACE)
        state = MetadataStore(engine).state(WORKSPACE)
        obj = state.object_named(api_name)
        assert obj is not None
        return Tables(workspace.namespace(conn.dialect.name), state).of(obj)


def start_workers(url: str, redis_url: str, args: argparse.Namespace, folder: Path) -> list[Any]:
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": url,
        "TESSERA_BROKER_URL": redis_url,
        "TESSERA_DATA_DIR": str(folder),
        "TESSERA_DEFAULT_WORKSPACE": WORKSPACE,
        "TESSERA_LOG_LEVEL": "warning",
    }
    workers = []
    for n in range(args.workers):
        log = folder / f"worker-{n}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "tessera.platform.cli", "worker", "--threads", str(args.threads)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        workers.append((process, log))
    return workers


def stop_workers(workers: list[Any]) -> None:
    for process, _ in workers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, _ in workers:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for n, (_, log) in enumerate(workers):  # warnings and errors the workers logged, if any
        logged = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        logged = [line for line in logged if not line.startswith(("worker: ", "database ready"))]
        for line in logged[:20]:
            print(f"worker {n}: {line}", file=sys.stderr)


def check_workers(workers: list[Any]) -> None:
    for process, log in workers:
        if process.poll() is not None:
            raise RuntimeError(f"a worker exited ({process.returncode}):\n{log.read_text()[-3000:]}")


def run_counts(engine: sa.Engine, since: dt.datetime) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(workflow_runs.c.status, sa.func.count())
            .where(workflow_runs.c.created_at >= since)
            .group_by(workflow_runs.c.status)
        ).all()
    return {status: count for status, count in rows}


def in_threads(count: int, threads: int, action: Callable[[int], None]) -> tuple[float, list[dt.datetime]]:
    """``action(i)`` for i in range(count), on ``threads`` threads; the wall time and the
    moment each call returned."""
    done: list[dt.datetime] = []
    lock = threading.Lock()

    def share(first: int) -> None:
        mine = []
        for i in range(first, count, threads):
            action(i)
            mine.append(now())
        with lock:
            done.extend(mine)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(share, t) for t in range(threads)]:
            future.result()
    return time.perf_counter() - start, done


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def finished_runs(engine: sa.Engine, since: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """(run finished, its event created) for the runs of the record events since ``since``."""
    with engine.connect() as conn:
        return [
            (finished, created)
            for finished, created in conn.execute(
                sa.select(workflow_runs.c.finished_at, record_events.c.created_at)
                .join(record_events, record_events.c.id == workflow_runs.c.event_id)
                .where(record_events.c.created_at >= since, workflow_runs.c.status == "succeeded")
            )
        ]


def wait_for_runs(
    engine: sa.Engine, since: dt.datetime, count: int, workers: list[Any], timeout: float
) -> None:
    """Until the ``count`` runs started since ``since`` succeeded; an error if one fails."""
    deadline = time.monotonic() + timeout
    while (counts := run_counts(engine, since)).get("succeeded", 0) < count:
        check_workers(workers)
        if counts.get("failed"):
            raise RuntimeError(f"a run failed: {counts} (of {count} runs)")
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {timeout:.0f}s the runs are {counts} (of {count})")
        time.sleep(0.1)


def latency_ms(latencies: list[float]) -> tuple[float, float, float]:
    """Median, p99 and max, in ms."""
    return statistics.median(latencies) * 1000, percentile(latencies, 0.99) * 1000, max(latencies) * 1000


def measure_tessera(engine: sa.Engine, workers: list[Any], args: argparse.Namespace) -> dict[str, Any]:
    records = RecordService(engine)
    # Warm-up: the workers are up, models and connections cached, then the measured phases.
    since = now()
    for i in range(WARM_UP_DEALS):
        records.create(WORKSPACE, "deal", {"title": f"Warm-up {i}", "amount": i})
    wait_for_runs(engine, since, WARM_UP_DEALS, workers, 120)
    time.sleep(0.5)  # the warm-up events' processed_at stamps, before the measured phases

    # Idle latency: deals one at a time, at a rate the workers keep up with.
    since = now()
    for i in range(args.paced):
        records.create(WORKSPACE, "deal", {"title": f"Paced {i}", "amount": i})
        time.sleep(1 / args.paced_rate)
    wait_for_runs(engine, since, args.paced, workers, 120)
    paced = [(f - c).total_seconds() for f, c in finished_runs(engine, since)]
    idle = latency_ms(paced) if paced else None
    time.sleep(0.5)

    # The burst: as fast as the writers go; throughput and latency under load.
    start = now()
    print(f"writing {args.events} deals from {args.writers} threads…", file=sys.stderr)
    write_seconds, committed = in_threads(
        args.events,
        args.writers,
        lambda i: records.create(WORKSPACE, "deal", {"title": f"Deal {i}", "amount": i}),
    )
    wait_for_runs(engine, start, args.events, workers, args.timeout)
    rows = finished_runs(engine, start)
    assert len(rows) == args.events, (len(rows), args.events)
    first_commit = min(committed)
    last_finished = max(finished for finished, _ in rows)
    span = (last_finished - first_commit).total_seconds()
    return {
        "throughput": len(rows) / span,
        "write_rate": args.events / write_seconds,
        "loaded": latency_ms([(f - c).total_seconds() for f, c in rows]),
        "idle": idle,
        "span": span,
        "write_seconds": write_seconds,
    }


def measure_raw(url: str, engine: sa.Engine, args: argparse.Namespace) -> dict[str, float]:
    """Plain INSERTs, one row per transaction, from as many threads: tasks, then deals."""
    task, deal = record_table(engine, "task"), record_table(engine, "deal")
    with engine.connect() as conn:
        deal_ids = list(conn.execute(sa.select(deal.c.id).limit(args.events)).scalars())
    plain = sa.create_engine(sa.make_url(url), pool_size=args.writers)
    try:

        def insert_task(i: int) -> None:
            stamp = now()
            with plain.begin() as conn:
                conn.execute(
                    sa.insert(task).values(
                        id=uuid.uuid4(),
                        created_at=stamp,
                        updated_at=stamp,
                        title=f"Follow up raw {i}",
                        deal=deal_ids[i % len(deal_ids)],
                    )
                )

        def insert_deal(i: int) -> None:
            stamp = now()
            with plain.begin() as conn:
                conn.execute(
                    sa.insert(deal).values(
                        id=uuid.uuid4(), created_at=stamp, updated_at=stamp, title=f"Raw deal {i}", amount=i
                    )
                )

        insert_task(-1)  # warm-up: the connection, the statement cache
        task_seconds, _ = in_threads(args.events, args.writers, insert_task)
        deal_seconds, _ = in_threads(args.events, args.writers, insert_deal)
    finally:
        plain.dispose()
    return {"task_rate": args.events / task_seconds, "deal_rate": args.events / deal_seconds}


def report(args: argparse.Namespace, tessera: dict[str, Any], raw: dict[str, float]) -> None:
    setup = f"{args.events} events, {args.workers} workers x {args.threads} threads, {args.writers} writers"
    print(f"workflows on PostgreSQL + Redis ({setup})\n")
    print(f"| {'measure':<50} | {'tessera':>10} | {'raw SQL':>10} | {'ratio':>6} |")
    print(f"|{'-' * 52}|{'-' * 11}:|{'-' * 11}:|{'-' * 7}:|")
    rows = [
        ("end-to-end: deals turned into tasks per s", tessera["throughput"], raw["task_rate"]),
        ("deal writes per s (record service)", tessera["write_rate"], raw["deal_rate"]),
    ]
    for name, value, baseline in rows:
        print(f"| {name:<50} | {value:>8.0f}/s | {baseline:>8.0f}/s | {baseline / value:>6.1f} |")
    paced = f"{args.paced} deals at {args.paced_rate:g}/s"
    latencies = [("latency commit → action under load", tessera["loaded"])]
    if tessera["idle"] is not None:
        latencies.append((f"latency commit → action, {paced}", tessera["idle"]))
    for name, (median, p99, _) in latencies:
        for which, value in (("median", median), ("p99", p99)):
            print(f"| {name + ', ' + which:<50} | {value:>8.0f}ms | {'-':>10} | {'-':>6} |")
    print(
        f"\nraw SQL: one INSERT per transaction from {args.writers} threads (tasks; deals for the write "
        f"rate); ratio = raw rate / Tessera's. Under load: {args.events} deals written in "
        f"{tessera['write_seconds']:.1f}s, the last run finished {tessera['span']:.1f}s after the first "
        f"commit, the slowest run took {tessera['loaded'][2]:.0f}ms."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2_000, help="deals written (record events)")
    parser.add_argument("--workers", type=int, default=2, help="`tessera worker` processes")
    parser.add_argument("--threads", type=int, default=4, help="threads of each worker")
    parser.add_argument("--writers", type=int, default=4, help="threads writing deals (and raw rows)")
    parser.add_argument("--paced", type=int, default=50, help="deals written one at a time (idle latency)")
    parser.add_argument("--paced-rate", type=float, default=10, help="deals per second of the paced phase")
    parser.add_argument("--redis-url", default=REDIS_URL, help="a Redis database the benchmark may empty")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the runs")
    args = parser.parse_args()
    queue = redis.Redis.from_url(args.redis_url)
    try:
        queue.flushdb()  # a database of our own: no old message interferes
    except redis.RedisError as exc:
        print(f"workflows benchmark skipped: Redis at {args.redis_url} is unreachable ({exc})")
        return
    finally:
        queue.close()
    url = prepare_database()
    if url is None:
        return
    engine = create_engine(url)
    workers: list[Any] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            define_model(engine)
            workers = start_workers(url, args.redis_url, args, Path(folder))
            try:
                tessera = measure_tessera(engine, workers, args)
            finally:
                stop_workers(workers)
            raw = measure_raw(url, engine, args)
        report(args, tessera, raw)
    finally:
        engine.dispose()
        drop_database(BENCH_DATABASE)


if __name__ == "__main__":
    main()
