"""The workflow engine: record events → runs → steps, written through the record service.

For each record event the worker hands it, the engine finds the active workflows the
event fires (:mod:`tessera.workflows.triggers`) and runs each once (a run is unique per
workflow and event, so a redelivered event starts nothing new). A run keeps the snapshot
of the version it runs and records every step: input, output or error, timings, attempt.

This engine runs the record steps (``create_record``, ``update_record``,
``delete_record``, ``find_records``) and ``branch``; a workflow using another step type
can be saved as a draft but not activated yet (``STEP_NOT_SUPPORTED``). Values come from
templates — value paths such as ``{{ record.amount }}`` or
``{{ steps.find_owner.result[0].email }}`` looked up in the run's data, never evaluated.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tessera.metadata.storage import Tables
from tessera.metadata.store import load_state
from tessera.platform.database import write_transaction
from tessera.platform.errors import TesseraError
from tessera.platform.records import RecordService, record_json
from tessera.platform.tables import workflow_runs, workspaces
from tessera.platform.workspaces import get_workspace
from tessera.workflows.definitions import TEMPLATE
from tessera.workflows.store import WorkflowStore, WorkflowVersion
from tessera.workflows.triggers import current_record_matches, fired_by

logger = logging.getLogger("tessera.workflows")
FIND_LIMIT = 100
#: how deep workflows may trigger workflows, unless a workflow's settings say otherwise
DEFAULT_MAX_DEPTH = 5
WHOLE_TEMPLATE = re.compile(r"^\s*{{\s*(.*?)\s*}}\s*$")
PATH_PART = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


@dataclass(frozen=True)
class Step:
    """Where a run's steps work: its record service (at the run's depth), workspace, data
    model (read once per run) and triggering event."""

    records: RecordService
    slug: str
    tables: Tables
    event: Mapping[str, Any]


class StepFailed(Exception):
    def __init__(self, message: str, code: str = "STEP_FAILED") -> None:
        super().__init__(message)
        self.code = code


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


class WorkflowEngine:
    """The record-event handler that starts and runs workflows."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        time_zone: str = "UTC",
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.time_zone = time_zone
        self.workflows = WorkflowStore(engine)

    def handle(self, event: Mapping[str, Any]) -> None:
        """Start (and run) every workflow the event fires."""
        with self.engine.connect() as conn:
            slug = conn.execute(
                sa.select(workspaces.c.slug).where(workspaces.c.id == event["workspace_id"])
            ).scalar()
            if slug is None:
                return
            candidates = [
                v
                for v in self.workflows.active(slug)
                if v.definition["trigger"].get("object") == event["object_api_name"]
            ]
            if not candidates:
                return  # the common case: no workflow on this object, no model to load
            workspace = get_workspace(conn, slug)
            tables = Tables(workspace.namespace(conn.dialect.name), load_state(conn, workspace))
            fired = fired_by(conn, tables, event, candidates, now=self.clock(), time_zone=self.time_zone)
        for version in fired:
            self.run(slug, version, event, tables)

    def run(
        self, slug: str, version: WorkflowVersion, event: Mapping[str, Any], tables: Tables
    ) -> uuid.UUID | None:
        """Run ``version`` for ``event`` unless that run exists; the run's id. ``tables``
        holds the data model the run works with."""
        now = self.clock()
        run_id = uuid.uuid4()
        try:
            with write_transaction(self.engine) as conn:
                workspace_id = conn.execute(
                    sa.select(workspaces.c.id).where(workspaces.c.slug == slug)
                ).scalar_one()
                conn.execute(
                    sa.insert(workflow_runs).values(
                        id=run_id,
                        workspace_id=workspace_id,
                        workflow_id=version.workflow_id,
                        version=version.version,
                        snapshot=dict(version.definition),
                        event_id=event["id"],
                        record_id=event["record_id"],
                        status="running",
                        steps=[],
                        created_at=now,
                        updated_at=now,
                    )
                )
        except sa.exc.IntegrityError:
            return None  # this event already started this workflow
        depth = int(event.get("depth") or 0)
        max_depth = int(version.definition.get("settings", {}).get("max_depth", DEFAULT_MAX_DEPTH))
        if depth >= max_depth:
            self.finish(
                run_id,
                "failed",
                [],
                f"LOOP_GUARD: this run was started by a workflow's write {depth} level(s) deep; "
                f"workflows may trigger workflows {max_depth} level(s) deep (settings.max_depth).",
            )
            return run_id
        # The run's writes are one level deeper: their events carry it.
        records = RecordService(self.engine, clock=self.clock, time_zone=self.time_zone, depth=depth + 1)
        data: dict[str, Any] = {
            "record": dict(event.get("after") or event.get("before") or {}),
            "previous": dict(event.get("before") or {}),
            "trigger": {
                "kind": event["kind"],
                "object": event["object_api_name"],
                "changed_fields": event.get("changed_fields"),
            },
            "workflow": {"name": version.name, "version": version.version},
            "steps": {},
        }
        log: list[dict[str, Any]] = []
        status, error = "succeeded", None
        try:
            self.steps(Step(records, slug, tables, event), version.definition["steps"], data, log)
        except (StepFailed, TesseraError) as exc:
            status, error = "failed", str(exc)
        except Exception:
            # A fault of ours, not of the workflow: the run must not stay "running".
            logger.exception("workflow run %s failed unexpectedly", run_id)
            status, error = "failed", "INTERNAL_ERROR: an unexpected error; it has been logged."
        self.finish(run_id, status, log, error)
        return run_id

    def finish(self, run_id: uuid.UUID, status: str, log: list[dict[str, Any]], error: str | None) -> None:
        finished = self.clock()
        with write_transaction(self.engine) as conn:
            conn.execute(
                sa.update(workflow_runs)
                .where(workflow_runs.c.id == run_id)
                .values(status=status, steps=log, error=error, updated_at=finished, finished_at=finished)
            )

    def steps(
        self, at: Step, steps: list[Mapping[str, Any]], data: dict[str, Any], log: list[dict[str, Any]]
    ) -> None:
        for step in steps:
            entry: dict[str, Any] = {
                "id": step["id"],
                "type": step["type"],
                "attempt": 1,
                "started_at": self.clock().isoformat(),
            }
            log.append(entry)
            try:
                if step["type"] == "branch":
                    taken = self.condition_holds(at, step.get("if") or {})
                    entry["output"] = {"branch": "then" if taken else "else"}
                    entry["status"] = "succeeded"
                    entry["finished_at"] = self.clock().isoformat()
                    self.steps(at, step.get("then" if taken else "else", []), data, log)
                    continue
                entry["input"] = render({k: v for k, v in step.items() if k not in ("id", "type")}, data)
                result = self.record_step(at, step["type"], entry["input"])
                data["steps"][step["id"]] = {"result": result}
                entry["output"] = result
                entry["status"] = "succeeded"
            except (TesseraError, StepFailed) as exc:
                code = exc.code
                entry["status"] = "failed"
                entry["error"] = {"code": code, "message": str(exc), "path": list(getattr(exc, "path", ()))}
                raise StepFailed(f"step '{step['id']}': {exc}", code) from exc
            finally:
                entry.setdefault("finished_at", self.clock().isoformat())

    def record_step(self, at: Step, kind: str, values: Mapping[str, Any]) -> Any:
        service, slug, obj_name = at.records, at.slug, str(values.get("object"))
        obj = at.tables.state.object_named(obj_name)
        if obj is None:
            raise StepFailed(f"There is no object '{obj_name}' any more.", "UNKNOWN_OBJECT")
        if kind == "create_record":
            return record_json(obj, service.create(slug, obj_name, values.get("values") or {}))
        if kind == "find_records":
            found = service.find(slug, obj_name, values.get("filter") or {}, limit=FIND_LIMIT)
            return [record_json(obj, record) for record in found]
        try:
            record_id = uuid.UUID(str(values.get("record")))
        except ValueError:
            raise StepFailed(f"'{values.get('record')}' is not a record id (a UUID).", "INVALID_ID") from None
        if kind == "update_record":
            return record_json(obj, service.update(slug, obj_name, record_id, values.get("values") or {}))
        if kind == "delete_record":
            return record_json(obj, service.delete(slug, obj_name, record_id))
        raise StepFailed(f"'{kind}' steps are not run by this engine yet.", "STEP_NOT_SUPPORTED")

    def condition_holds(self, at: Step, condition: Mapping[str, Any]) -> bool:
        """A branch's ``if``: the filter language on the triggering record as it is now."""
        obj = at.tables.state.object_named(str(at.event["object_api_name"]))
        if obj is None:
            return False
        with self.engine.connect() as conn:
            return current_record_matches(
                conn,
                at.tables,
                obj,
                uuid.UUID(str(at.event["record_id"])),
                condition,
                self.clock(),
                self.time_zone,
            )
