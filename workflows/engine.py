"""The workflow engine: durable runs whose steps write through the record service.

A run is a row of ``workflow_runs``: the snapshot of the version it runs, the trigger's
data, and a **checkpoint** — the output of every finished step, by step key. Executing a
run walks its steps from the start and *replays* the finished ones from the checkpoint
(a branch replays the way it took, a loop the list it went over), so a run resumed by
another worker after a crash, a wait or a retry carries on from the first unfinished
step. Step keys are the step's id, prefixed by its loop iterations (``lines[2].bill``).

Exactly once: a record step writes its records and its checkpoint in one transaction,
and the checkpoint is written only while the worker holds the run's lease (a token
compared on write). A worker that died mid-run leaves a lease that runs out; the
scheduler hands the run to another worker, which replays what was committed and runs the
rest — the records written before the crash are not written again. Steps that leave the
database (email, HTTP, connector actions) carry an idempotency key that is the same on
every attempt (``<run id>:<step key>``).

Failed steps are tried again per the workflow's ``settings.retry`` (3 attempts, 60 s
backoff doubling, by default); errors that retrying cannot fix (a validation error, a
4xx) fail the run at once. A failed run can be retried from its failed step.

Values come from templates — value paths such as ``{{ record.amount }}`` or
``{{ steps.find_owner.result[0].email }}`` looked up in the run's data, never evaluated.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tessera.connectors.webhooks import verify
from tessera.metadata.changes import find_object
from tessera.metadata.storage import Tables
from tessera.metadata.store import committed_tables
from tessera.platform.database import write_transaction
from tessera.platform.errors import NotFound, TesseraError
from tessera.platform.records import RecordService, RecordWriter, record_from_row, record_json
from tessera.platform.tables import webhook_receipts, workflow_runs, workflows, workspaces
from tessera.platform.workspaces import get_workspace, workspace_by_id
from tessera.workflows.actions import ActionCall, ActionFailed, ActionRegistry
from tessera.workflows.definitions import RECORD_STEPS, TEMPLATE
from tessera.workflows.store import WorkflowStore, WorkflowVersion
from tessera.workflows.timers import parse_moment, plan_relative_date, relative_date_workflows
from tessera.workflows.triggers import current_record_matches, fired_by

logger = logging.getLogger("tessera.workflows")
Clock = Callable[[], dt.datetime]
FIND_LIMIT = 100
LOOP_LIMIT = 1000
#: how deep workflows may trigger workflows, unless a workflow's settings say otherwise
DEFAULT_MAX_DEPTH = 5
#: the retry policy unless a workflow's settings say otherwise: a few attempts over minutes
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_SECONDS = 60
#: how long a worker holds a run between two checkpoints before another may take it over
DEFAULT_LEASE = dt.timedelta(minutes=5)
#: run states; the first three are "not finished"
PENDING = ("queued", "running", "waiting")
FINISHED = ("succeeded", "failed", "cancelled")
WHOLE_TEMPLATE = re.compile(r"^\s*{{\s*([^{}]*?)\s*}}\s*$")
PATH_PART = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def lookup(data: Any, expression: str) -> Any:
    """The value at a path such as ``steps.find.result[0].email`` (``None`` when absent)."""
    value = data
    for name, index in PATH_PART.findall(expression):
        if name:
            value = value.get(name) if isinstance(value, Mapping) else None
        else:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        if value is None:
            return None
    return value


def render(template: Any, data: Mapping[str, Any]) -> Any:
    """Templates filled from ``data``: a string that is one template gives the value itself
    (a number stays a number); templates inside text are written as text."""
    if isinstance(template, str):
        whole = WHOLE_TEMPLATE.match(template)
        if whole:
            return lookup(data, whole.group(1))
        return TEMPLATE.sub(lambda m: "" if (v := lookup(data, m.group(1))) is None else str(v), template)
    if isinstance(template, Mapping):
        return {key: render(value, data) for key, value in template.items()}
    if isinstance(template, list):
        return [render(item, data) for item in template]
    return template


class StepFailed(Exception):
    """A step could not do its work; ``retryable`` when trying again may help."""

    def __init__(self, message: str, code: str = "STEP_FAILED", *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.retry_after: float | None = None


class LeaseLost(Exception):
    """Another worker took the run over (or it was cancelled): stop, write nothing more."""


class Suspended(Exception):
    """The run waits until ``until`` (a wait step)."""

    def __init__(self, until: dt.datetime) -> None:
        super().__init__(until.isoformat())
        self.until = until


@dataclass
class Run:
    """A run being executed: what its steps read and the checkpoint they extend."""

    id: uuid.UUID
    token: uuid.UUID
    slug: str
    definition: Mapping[str, Any]
    data: dict[str, Any]
    results: dict[str, Any]
    attempts: dict[str, int]
    log: list[dict[str, Any]]
    records: RecordService
    tables: Tables
    record_id: uuid.UUID | None
    actor: uuid.UUID | None
    #: the step of the walk that is running, its key, input and start: its failure's log entry
    current: Mapping[str, Any] = field(default_factory=dict)
    current_key: str = ""
    current_input: Any = None
    current_started: dt.datetime | None = None


@dataclass(frozen=True)
class WebhookReceipt:
    """The run a signed inbound webhook started; ``duplicate`` when its ``webhook-id`` had
    already started it."""

    run_id: uuid.UUID
    duplicate: bool = False


class WorkflowEngine:
    """Starts runs (from record events, timers, people and webhooks) and executes them."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = lambda: dt.datetime.now(dt.UTC),
        time_zone: str = "UTC",
        actions: ActionRegistry | None = None,
        lease: dt.timedelta = DEFAULT_LEASE,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.time_zone = time_zone
        self.actions = actions or ActionRegistry()
        self.lease = lease
        self.workflows = WorkflowStore(engine, clock=clock, time_zone=time_zone)

    # -- starting runs -------------------------------------------------------------------
    def handle(self, event: Mapping[str, Any]) -> None:
        """The record-event handler: plan relative-date timers the event moves, then start
        (and run) every workflow the event fires."""
        with self.engine.connect() as conn:
            workspace = workspace_by_id(conn, event["workspace_id"])
            if workspace is None:
                return
            slug = workspace.slug
            on_object = [
                v
                for v in self.workflows.active(slug)
                if v.definition["trigger"].get("object") == event["object_api_name"]
            ]
            if not on_object:
                return  # the common case: no workflow on this object, no model to load
            tables = committed_tables(conn, workspace)
            fired = fired_by(conn, tables, event, on_object, now=self.clock(), time_zone=self.time_zone)
        relative = relative_date_workflows(on_object)
        if relative:
            with write_transaction(self.engine) as conn:
                for version in relative:
                    plan_relative_date(
                        conn,
                        tables,
                        version,
                        event,
                        workspace_id=event["workspace_id"],
                        time_zone=self.time_zone,
                    )
        for version in fired:
            record = dict(event.get("after") or event.get("before") or {})
            data = self.trigger_data(
                version,
                event["kind"],
                record=record,
                previous=dict(event.get("before") or {}),
                changed_fields=event.get("changed_fields"),
            )
            run_id = self.start(
                slug,
                version,
                trigger_key=f"event:{event['id']}",
                data=data,
                record_id=uuid.UUID(str(event["record_id"])),
                event_id=uuid.UUID(str(event["id"])),
                depth=int(event.get("depth") or 0),
                lease_token=(token := uuid.uuid4()),
            )
            if run_id is not None:  # started here, held by this worker: run it now
                self.run_held(run_id, token, tables)

    def trigger_data(
        self,
        version: WorkflowVersion,
        kind: str,
        *,
        record: Mapping[str, Any] | None = None,
        previous: Mapping[str, Any] | None = None,
        changed_fields: Any = None,
        payload: Any = None,
    ) -> dict[str, Any]:
        """What the steps' templates read: ``record``, ``previous``, ``trigger``, ``workflow``."""
        trigger: dict[str, Any] = {"kind": kind, "object": version.definition["trigger"].get("object")}
        if changed_fields is not None:
            trigger["changed_fields"] = changed_fields
        if payload is not None:
            trigger["data"] = payload
        return {
            "record": dict(record or {}),
            "previous": dict(previous or {}),
            "trigger": trigger,
            "workflow": {"name": version.name, "version": version.version},
        }

    def start(
        self,
        slug: str,
        version: WorkflowVersion,
        *,
        trigger_key: str,
        data: Mapping[str, Any],
        record_id: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
        depth: int = 0,
        lease_token: uuid.UUID | None = None,
        conn: Connection | None = None,
    ) -> uuid.UUID | None:
        """Record a queued run of ``version``; ``None`` when ``trigger_key`` already started
        one (a redelivered event, a timer fired twice). The scheduler dispatches it, or the
        caller runs it at once: with ``lease_token`` the run starts held by the caller, who
        then runs it with :meth:`run_held`. ``conn`` writes it in the caller's transaction."""
        if conn is None:
            with write_transaction(self.engine) as own:
                return self.start(
                    slug,
                    version,
                    trigger_key=trigger_key,
                    data=data,
                    record_id=record_id,
                    event_id=event_id,
                    depth=depth,
                    lease_token=lease_token,
                    conn=own,
                )
        now = self.clock()
        run_id = uuid.uuid4()
        settings = version.definition.get("settings", {})
        actor = uuid.UUID(settings["run_as"]) if settings.get("run_as") else None
        workspace_id = conn.execute(sa.select(workspaces.c.id).where(workspaces.c.slug == slug)).scalar_one()
        try:
            with conn.begin_nested():
                conn.execute(
                    sa.insert(workflow_runs).values(
                        id=run_id,
                        workspace_id=workspace_id,
                        workflow_id=version.workflow_id,
                        version=version.version,
                        snapshot=dict(version.definition),
                        event_id=event_id,
                        record_id=record_id,
                        trigger_key=trigger_key,
                        data=dict(data),
                        results={},
                        attempts={},
                        status="queued" if lease_token is None else "running",
                        lease_token=lease_token,
                        lease_until=None if lease_token is None else now + self.lease,
                        steps=[],
                        wake_at=now,
                        actor=actor,
                        depth=depth,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except sa.exc.IntegrityError:
            return None
        return run_id

    # -- executing runs ------------------------------------------------------------------
    def claim(self, run_id: uuid.UUID, dispatch_token: uuid.UUID | None = None) -> uuid.UUID | None:
        """Take the run for this worker: it must be due and held by nobody (or by the
        dispatch that sent it here, or by a worker whose lease ran out). The lease token."""
        now = self.clock()
        token = uuid.uuid4()
        free = sa.or_(workflow_runs.c.lease_token.is_(None), workflow_runs.c.lease_until < now)
        if dispatch_token is not None:
            free = sa.or_(free, workflow_runs.c.lease_token == dispatch_token)
        with write_transaction(self.engine) as conn:
            taken = conn.execute(
                sa.update(workflow_runs)
                .where(
                    workflow_runs.c.id == run_id,
                    workflow_runs.c.status.in_(PENDING),
                    sa.or_(workflow_runs.c.wake_at.is_(None), workflow_runs.c.wake_at <= now),
                    free,
                )
                .values(status="running", lease_token=token, lease_until=now + self.lease, updated_at=now)
            )
        return token if taken.rowcount else None

    def resume(self, run_id: uuid.UUID, dispatch_token: uuid.UUID | None = None) -> bool:
        """Claim and execute the run (the worker's entry point); ``False`` when it was not
        this worker's to run."""
        token = self.claim(run_id, dispatch_token)
        if token is None:
            return False
        self.run_held(run_id, token)
        return True

    def run_held(self, run_id: uuid.UUID, token: uuid.UUID, tables: Tables | None = None) -> None:
        """Execute a run this worker holds; stop quietly when it is taken over."""
        try:
            self.execute(run_id, token, tables)
        except LeaseLost:
            logger.info("workflow run %s was taken over or cancelled; this worker stops", run_id)

    def execute(self, run_id: uuid.UUID, token: uuid.UUID, tables: Tables | None = None) -> None:
        """Walk the run's steps under ``token``; ``tables``: the data model, when the caller
        has just read it."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(workflow_runs).where(workflow_runs.c.id == run_id)).mappings().one()
            workspace = workspace_by_id(conn, row["workspace_id"])
            assert workspace is not None  # runs go with their workspace (ON DELETE CASCADE)
            slug = workspace.slug
            if tables is None:
                tables = committed_tables(conn, workspace)
        definition = row["snapshot"]
        settings = definition.get("settings", {})
        depth = int(row["depth"] or 0)
        max_depth = int(settings.get("max_depth", DEFAULT_MAX_DEPTH))
        run = Run(
            id=run_id,
            token=token,
            slug=slug,
            definition=definition,
            data={**(row["data"] or {}), "steps": {}},
            results=dict(row["results"] or {}),
            attempts=dict(row["attempts"] or {}),
            log=list(row["steps"]),
            # The run's writes are one level deeper: their events carry it.
            records=RecordService(self.engine, clock=self.clock, time_zone=self.time_zone, depth=depth + 1),
            tables=tables,
            record_id=row["record_id"],
            actor=row["actor"],
        )
        if depth >= max_depth:
            self.finish(
                run,
                "failed",
                f"LOOP_GUARD: this run was started by a workflow's write {depth} level(s) deep; "
                f"workflows may trigger workflows {max_depth} level(s) deep (settings.max_depth).",
            )
            return
        try:
            self.walk(run, definition["steps"], "")
        except Suspended as pause:
            self.suspend(run, pause.until, None)
            return
        except LeaseLost:
            raise
        except (StepFailed, TesseraError, ActionFailed) as exc:
            self.fail_step(run, exc)
            return
        except Exception as exc:
            # A fault of ours or of a service (the database went away): logged, then
            # retried per the policy like a transient step error.
            logger.exception("workflow run %s failed unexpectedly at step %s", run_id, run.current_key)
            self.fail_step(
                run, StepFailed(f"INTERNAL_ERROR: {type(exc).__name__}", "INTERNAL_ERROR", retryable=True)
            )
            return
        self.finish(run, "succeeded", None)

    def walk(self, run: Run, steps: Sequence[Mapping[str, Any]], prefix: str) -> None:
        """Run ``steps`` in order, replaying those the checkpoint holds."""
        for step in steps:
            key = prefix + step["id"]
            run.current, run.current_key = step, key
            kind = step["type"]
            run.current_input = run.current_started = None
            if kind == "branch":
                if key not in run.results:
                    taken = self.condition_holds(run, step.get("if") or {})
                    self.checkpoint(run, key, step, {"branch": "then" if taken else "else"}, None)
                self.walk(run, step.get(str(run.results[key]["output"]["branch"]), []), prefix)
            elif kind == "loop":
                if key not in run.results:
                    items = render(step.get("over"), run.data)
                    if not isinstance(items, list):
                        raise StepFailed(
                            f"loop '{step['id']}': '{step.get('over')}' is not a list "
                            f"(it is {type(items).__name__}).",
                            "LOOP_NOT_A_LIST",
                        )
                    if len(items) > LOOP_LIMIT:
                        raise StepFailed(
                            f"loop '{step['id']}': {len(items)} items; "
                            f"a loop goes over {LOOP_LIMIT} at most.",
                            "LOOP_TOO_LONG",
                        )
                    self.checkpoint(run, key, step, {"count": len(items)}, {"items": items})
                items = run.results[key]["items"]
                outer = run.data.get("loop")
                for index, item in enumerate(items):
                    run.data["loop"] = {"item": item, "index": index, "count": len(items)}
                    self.walk(run, step.get("steps", []), f"{key}[{index}].")
                run.data["loop"] = outer
                run.data["steps"][step["id"]] = {"result": {"count": len(items)}}
            elif kind == "wait":
                self.wait(run, key, step)
            elif key in run.results:
                run.data["steps"][step["id"]] = {"result": run.results[key]["output"]}
            else:
                self.run_step(run, key, step)

    def run_step(self, run: Run, key: str, step: Mapping[str, Any]) -> None:
        """Run one step that does work, and checkpoint its output (with its writes)."""
        kind = step["type"]
        payload = render({k: v for k, v in step.items() if k not in ("id", "type")}, run.data)
        started = self.clock()
        run.current_input, run.current_started = payload, started
        if kind in RECORD_STEPS:
            if kind == "find_records":
                output = self.find_records(run, payload)
                self.checkpoint(run, key, step, output, None, payload=payload, started=started)
            else:
                with run.records.writer(run.slug, actor=run.actor) as writer:
                    output = self.write_records(writer, run, kind, payload)
                    self.checkpoint(
                        run, key, step, output, None, payload=payload, started=started, conn=writer.conn
                    )
        else:
            about = run.definition["trigger"].get("object")
            record = (about, run.record_id) if about and run.record_id is not None else None
            call = ActionCall(run.slug, run.id, key, f"{run.id}:{key}", record)
            name = (
                f"{payload.get('connector')}.{payload.get('action')}" if kind == "connector_action" else kind
            )
            action_input = payload.get("input", {}) if kind == "connector_action" else payload
            with self.heartbeat(run):
                output = self.actions.call(name, call, action_input)
            self.checkpoint(run, key, step, output, None, payload=payload, started=started)
        run.data["steps"][step["id"]] = {"result": output}

    @contextmanager
    def heartbeat(self, run: Run) -> Iterator[None]:
        """Keep the run's lease while a step waits on another system (an HTTP call may take
        longer than the lease): otherwise the run would be taken over and the call made twice."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.lease.total_seconds() / 3):
                try:
                    with write_transaction(self.engine) as conn:
                        conn.execute(
                            sa.update(workflow_runs)
                            .where(workflow_runs.c.id == run.id, workflow_runs.c.lease_token == run.token)
                            .values(lease_until=self.clock() + self.lease)
                        )
                except sa.exc.SQLAlchemyError:  # the next beat tries again
                    logger.warning("could not renew the lease of workflow run %s", run.id, exc_info=True)

        beat = threading.Thread(target=renew, name=f"lease-{run.id}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()

    def write_records(self, writer: RecordWriter, run: Run, kind: str, values: Mapping[str, Any]) -> Any:
        obj = self.object_of(run, values)
        if kind == "create_record":
            return record_json(obj, writer.create(obj.api_name, values.get("values") or {}))
        record_id = self.record_id_of(values)
        if kind == "update_record":
            return record_json(obj, writer.update(obj.api_name, record_id, values.get("values") or {}))
        return record_json(obj, writer.delete(obj.api_name, record_id))

    def find_records(self, run: Run, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        obj = self.object_of(run, values)
        found = run.records.find(
            run.slug, obj.api_name, values.get("filter") or {}, limit=FIND_LIMIT, actor=run.actor
        )
        return [record_json(obj, record) for record in found]

    @staticmethod
    def object_of(run: Run, values: Mapping[str, Any]) -> Any:
        name = str(values.get("object"))
        obj = run.tables.state.object_named(name)
        if obj is None:
            raise StepFailed(f"There is no object '{name}' any more.", "UNKNOWN_OBJECT")
        return obj

    @staticmethod
    def record_id_of(values: Mapping[str, Any]) -> uuid.UUID:
        try:
            return uuid.UUID(str(values.get("record")))
        except ValueError:
            raise StepFailed(f"'{values.get('record')}' is not a record id (a UUID).", "INVALID_ID") from None

    def wait(self, run: Run, key: str, step: Mapping[str, Any]) -> None:
        """A wait step: the first visit plans the time to go on; the run sleeps until then."""
        now = self.clock()
        if key not in run.results:
            if "duration" in step:
                until = now + duration_of(step["duration"])
            else:
                value = render(step.get("until"), run.data)
                moment = parse_moment(value, self.time_zone)
                if moment is None:
                    raise StepFailed(
                        f"wait '{step['id']}': until is {value!r}, not a date or datetime.", "INVALID_DATE"
                    )
                until = moment
            self.checkpoint(run, key, step, {"until": until.isoformat()}, None, done=False)
        until = dt.datetime.fromisoformat(run.results[key]["output"]["until"])
        if now < until:
            raise Suspended(until)
        if not run.results[key].get("passed"):  # logged once, not at every replay
            self.checkpoint(run, key, step, run.results[key]["output"], {"passed": True})
        run.data["steps"][step["id"]] = {"result": run.results[key]["output"]}

    def condition_holds(self, run: Run, condition: Mapping[str, Any]) -> bool:
        """A branch's ``if``: the filter language on the triggering record as it is now."""
        if not condition:
            return True
        obj = run.tables.state.object_named(str(run.definition["trigger"].get("object")))
        if obj is None or run.record_id is None:
            return False
        with self.engine.connect() as conn:
            return current_record_matches(
                conn, run.tables, obj, run.record_id, condition, self.clock(), self.time_zone
            )

    # -- the checkpoint ------------------------------------------------------------------
    def checkpoint(
        self,
        run: Run,
        key: str,
        step: Mapping[str, Any],
        output: Any,
        extra: Mapping[str, Any] | None,
        *,
        payload: Any = None,
        started: dt.datetime | None = None,
        conn: Connection | None = None,
        done: bool = True,
    ) -> None:
        """Record a finished step (its output, and the log entry) — in ``conn``'s
        transaction when given, so a step's writes and its checkpoint commit together."""
        now = self.clock()
        entry: dict[str, Any] = {
            "key": key,
            "id": step["id"],
            "type": step["type"],
            "attempt": run.attempts.get(key, 0) + 1,
            "status": "succeeded" if done else "waiting",
            "started_at": (started or now).isoformat(),
            "finished_at": now.isoformat(),
            "output": output,
        }
        if payload is not None:
            entry["input"] = payload
        results = {**run.results, key: {"output": output, **(extra or {})}}
        log = [*run.log, entry]
        self.update_held(run, conn, results=results, steps=log, updated_at=now, lease_until=now + self.lease)
        run.results, run.log = results, log

    def update_held(self, run: Run, conn: Connection | None, **values: Any) -> None:
        """Update the run's row while this worker holds it (its lease token), in ``conn``'s
        transaction when given; otherwise :class:`LeaseLost`, which rolls that back."""
        if conn is None:
            with write_transaction(self.engine) as own:
                self.update_held(run, own, **values)
            return
        updated = conn.execute(
            sa.update(workflow_runs)
            .where(workflow_runs.c.id == run.id, workflow_runs.c.lease_token == run.token)
            .values(**values)
        )
        if updated.rowcount == 0:
            raise LeaseLost()

    def fail_step(self, run: Run, exc: Exception) -> None:
        """A step failed: try again later per the retry policy, or fail the run."""
        key, step = run.current_key, run.current
        code = getattr(exc, "code", "STEP_FAILED")
        retryable = bool(getattr(exc, "retryable", False))
        attempt = run.attempts.get(key, 0) + 1
        policy = run.definition.get("settings", {}).get("retry", {})
        max_attempts = int(policy.get("max_attempts", DEFAULT_MAX_ATTEMPTS))
        backoff = int(policy.get("backoff_seconds", DEFAULT_BACKOFF_SECONDS))
        now = self.clock()
        run.log.append(
            {
                "key": key,
                "id": step["id"],
                "type": step["type"],
                "attempt": attempt,
                "status": "failed",
                "started_at": (run.current_started or now).isoformat(),
                "finished_at": now.isoformat(),
                **({"input": run.current_input} if run.current_input is not None else {}),
                "error": {"code": code, "message": str(exc), "path": list(getattr(exc, "path", ()))},
            }
        )
        run.attempts[key] = attempt
        message = f"step '{step['id']}': {exc}"
        if retryable and attempt < max_attempts:
            delay = backoff * 2 ** (attempt - 1)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                delay = max(delay, int(retry_after))
            self.suspend(
                run, now + dt.timedelta(seconds=delay), f"{message} (attempt {attempt} of {max_attempts})"
            )
            return
        self.finish(run, "failed", message)

    def suspend(self, run: Run, until: dt.datetime, error: str | None) -> None:
        """The run waits until ``until`` (a wait step, or a retry), held by nobody."""
        self.update_held(
            run,
            None,
            status="waiting",
            wake_at=until,
            lease_token=None,
            lease_until=None,
            steps=run.log,
            attempts=run.attempts,
            error=error,
            updated_at=self.clock(),
        )

    def finish(self, run: Run, status: str, error: str | None) -> None:
        """The run is over: its status, log and attempts; held by nobody any more."""
        finished = self.clock()
        self.update_held(
            run,
            None,
            status=status,
            steps=run.log,
            attempts=run.attempts,
            error=error,
            updated_at=finished,
            finished_at=finished,
            lease_token=None,
            lease_until=None,
            wake_at=None,
        )

    # -- people acting on runs -----------------------------------------------------------
    def run_manually(self, slug: str, name: str, record_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """Queue a run of workflow ``name``'s active version per record (``runWorkflow``)."""
        version = self.active_version(slug, name)
        obj_name = version.definition["trigger"].get("object")
        if version.definition["trigger"]["type"] in ("schedule", "webhook") or obj_name is None:
            raise TesseraError.single(
                "NOT_MANUAL",
                f"Workflow '{name}' starts on a {version.definition['trigger']['type']} trigger, "
                "not on records.",
                ("workflowId",),
            )
        if not record_ids:
            raise TesseraError.single("INVALID_VALUE", "Name at least one record.", ("recordIds",))
        started: list[uuid.UUID] = []
        with write_transaction(self.engine) as conn:
            workspace = get_workspace(conn, slug)
            tables = committed_tables(conn, workspace)
            obj = find_object(tables.state, obj_name, ("workflowId",))
            table = tables.of(obj)
            for index, record_id in enumerate(record_ids):
                row = (
                    conn.execute(
                        sa.select(table).where(table.c.id == record_id, table.c.deleted_at.is_(None))
                    )
                    .mappings()
                    .first()
                )
                if row is None:
                    raise NotFound.single(
                        "RECORD_NOT_FOUND",
                        f"There is no {obj_name} with id {record_id}.",
                        ("recordIds", index),
                    )
                record = record_from_row(obj, row)
                run_id = self.start(
                    slug,
                    version,
                    trigger_key=f"manual:{uuid.uuid4()}",
                    data=self.trigger_data(version, "manual", record=record_json(obj, record)),
                    record_id=record_id,
                    conn=conn,
                )
                assert run_id is not None  # a fresh key never collides
                started.append(run_id)
        return started

    def receive_webhook(self, workflow_id: uuid.UUID, secret: str, payload: Any) -> uuid.UUID:
        """Queue a run of a webhook-triggered workflow with ``payload`` as its trigger data
        (``{{ trigger.data.… }}``), when ``secret`` is the workflow's."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(workflows.c.webhook_secret, workspaces.c.slug)
                .join(workspaces, workspaces.c.id == workflows.c.workspace_id)
                .where(workflows.c.id == workflow_id)
            ).first()
        # Compared in constant time; an unknown workflow and a wrong secret answer alike.
        if row is None or row.webhook_secret is None or not hmac.compare_digest(row.webhook_secret, secret):
            raise NotFound.single(
                "UNKNOWN_WEBHOOK", "No active webhook workflow has this address and secret.", ()
            )
        version = next((v for v in self.workflows.active(row.slug) if v.workflow_id == workflow_id), None)
        if version is None or version.definition["trigger"]["type"] != "webhook":
            raise NotFound.single(
                "UNKNOWN_WEBHOOK", "No active webhook workflow has this address and secret.", ()
            )
        run_id = self.start(
            row.slug,
            version,
            trigger_key=f"webhook:{uuid.uuid4()}",
            data=self.trigger_data(version, "webhook", payload=payload),
        )
        assert run_id is not None  # a fresh key never collides
        return run_id

    def receive_signed_webhook(
        self, workflow_id: uuid.UUID, headers: Mapping[str, str], body: bytes
    ) -> WebhookReceipt:
        """Queue a run of a webhook-triggered workflow for a request signed per Standard
        Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature`` over the raw
        ``body``). The HMAC key is the workflow's secret as UTF-8 bytes (its ``whsec_`` form:
        :func:`tessera.connectors.webhooks.whsec_of_key`). A ``webhook-id`` already received
        at this address starts nothing: the receipt names the run it started."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(workflows.c.webhook_secret, workspaces.c.slug, workspaces.c.id)
                .join(workspaces, workspaces.c.id == workflows.c.workspace_id)
                .where(workflows.c.id == workflow_id)
            ).first()
        if row is None or row.webhook_secret is None:
            raise NotFound.single(
                "UNKNOWN_WEBHOOK", "No active webhook workflow has this address and secret.", ()
            )
        message_id = verify(row.webhook_secret.encode("utf-8"), headers, body, now=self.clock())
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            raise TesseraError.single("INVALID_JSON", "The body is not JSON.") from exc
        version = next((v for v in self.workflows.active(row.slug) if v.workflow_id == workflow_id), None)
        if version is None or version.definition["trigger"]["type"] != "webhook":
            raise NotFound.single(
                "UNKNOWN_WEBHOOK", "No active webhook workflow has this address and secret.", ()
            )
        source = f"workflow:{workflow_id}"
        received = sa.and_(webhook_receipts.c.source == source, webhook_receipts.c.event_id == message_id)
        try:
            with write_transaction(self.engine) as conn:
                earlier = conn.execute(sa.select(webhook_receipts.c.run_id).where(received)).scalar()
                if earlier is not None:
                    return WebhookReceipt(earlier, duplicate=True)
                run_id = self.start(
                    row.slug,
                    version,
                    trigger_key=f"webhook:{uuid.uuid4()}",
                    data=self.trigger_data(version, "webhook", payload=payload),
                    conn=conn,
                )
                assert run_id is not None  # a fresh key never collides
                # The unique (source, event id) makes a concurrent repeat fail here: its run is
                # rolled back with it, and it answers with the run of the one that committed.
                conn.execute(
                    sa.insert(webhook_receipts).values(
                        id=uuid.uuid4(),
                        workspace_id=row.id,
                        source=source,
                        event_id=message_id,
                        run_id=run_id,
                        received_at=self.clock(),
                    )
                )
        except sa.exc.IntegrityError:
            with self.engine.connect() as conn:
                earlier = conn.execute(sa.select(webhook_receipts.c.run_id).where(received)).scalar()
            if earlier is None:
                raise
            return WebhookReceipt(earlier, duplicate=True)
        return WebhookReceipt(run_id, duplicate=False)

    def retry(self, slug: str, run_id: uuid.UUID) -> None:
        """Run a failed run again from its failed step (the finished steps are kept)."""
        now = self.clock()
        with write_transaction(self.engine) as conn:
            row = self._run_row(conn, slug, run_id)
            if row["status"] != "failed":
                raise TesseraError.single(
                    "RUN_NOT_FAILED",
                    f"Only a failed run can be retried; this one is {row['status']}.",
                    ("id",),
                )
            conn.execute(
                sa.update(workflow_runs)
                .where(workflow_runs.c.id == run_id)
                .values(
                    status="queued", attempts={}, error=None, wake_at=now, finished_at=None, updated_at=now
                )
            )

    def cancel(self, slug: str, run_id: uuid.UUID) -> None:
        """Stop a run that has not finished; a worker running it stops at its next step."""
        now = self.clock()
        with write_transaction(self.engine) as conn:
            row = self._run_row(conn, slug, run_id)
            if row["status"] in FINISHED:
                raise TesseraError.single(
                    "RUN_FINISHED", f"This run has already finished ({row['status']}).", ("id",)
                )
            conn.execute(
                sa.update(workflow_runs)
                .where(workflow_runs.c.id == run_id)
                .values(
                    status="cancelled",
                    lease_token=None,
                    lease_until=None,
                    wake_at=None,
                    finished_at=now,
                    updated_at=now,
                )
            )

    def active_version(self, slug: str, name_or_id: str) -> WorkflowVersion:
        for version in self.workflows.active(slug):
            if name_or_id in (version.name, str(version.workflow_id)):
                return version
        raise NotFound.single(
            "UNKNOWN_WORKFLOW", f"There is no active workflow '{name_or_id}'.", ("workflowId",)
        )

    @staticmethod
    def _run_row(conn: Connection, slug: str, run_id: uuid.UUID) -> sa.RowMapping:
        workspace = get_workspace(conn, slug)
        row = (
            conn.execute(
                sa.select(workflow_runs).where(
                    workflow_runs.c.id == run_id, workflow_runs.c.workspace_id == workspace.id
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound.single("UNKNOWN_RUN", f"There is no workflow run {run_id}.", ("id",))
        return row


def duration_of(duration: Mapping[str, int]) -> dt.timedelta:
    return dt.timedelta(
        days=duration.get("days", 0), hours=duration.get("hours", 0), minutes=duration.get("minutes", 0)
    )
