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
import re
import uuid
from collections.abc import Callable, Mapping
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

FIND_LIMIT = 100
#: how deep workflows may trigger workflows, unless a workflow's settings say otherwise
DEFAULT_MAX_DEPTH = 5
WHOLE_TEMPLATE = re.compile(r"^\s*{{\s*(.*?)\s*}}\s*$")
PATH_PART = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


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
            workspace = get_workspace(conn, slug)
            active = self.workflows.active(slug)
            if not active:
                return
            tables = Tables(workspace.namespace(conn.dialect.name), load_state(conn, workspace))
            fired = fired_by(conn, tables, event, active, now=self.clock(), time_zone=self.time_zone)
        for version in fired:
            self.run(slug, version, event)

    def run(self, slug: str, version: WorkflowVersion, event: Mapping[str, Any]) -> uuid.UUID | None:
        """Run ``version`` for ``event`` unless that run exists; the run's id."""
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
            self.steps(records, slug, version.definition["steps"], data, log, event)
        except (StepFailed, TesseraError) as exc:
            status, error = "failed", str(exc)
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
        self,
        records: RecordService,
        slug: str,
        steps: list[Mapping[str, Any]],
        data: dict[str, Any],
        log: list[dict[str, Any]],
        event: Mapping[str, Any],
    ) -> None:
        for step in steps:
            started = self.clock()
            entry: dict[str, Any] = {
                "id": step["id"],
                "type": step["type"],
                "attempt": 1,
                "started_at": started.isoformat(),
            }
            log.append(entry)
            try:
                if step["type"] == "branch":
                    taken = self.condition_holds(slug, event, step.get("if") or {})
                    entry["output"] = {"branch": "then" if taken else "else"}
                    entry["status"] = "succeeded"
                    entry["finished_at"] = self.clock().isoformat()
                    self.steps(records, slug, step.get("then" if taken else "else", []), data, log, event)
                    continue
                entry["input"] = render({k: v for k, v in step.items() if k not in ("id", "type")}, data)
                result = self.record_step(records, slug, step["type"], entry["input"])
                data["steps"][step["id"]] = {"result": result}
                entry["output"] = result
                entry["status"] = "succeeded"
            except TesseraError as exc:
                entry["status"] = "failed"
                entry["error"] = {"code": exc.code, "message": str(exc), "path": list(exc.path)}
                raise StepFailed(f"step '{step['id']}': {exc}", exc.code) from exc
            finally:
                entry.setdefault("finished_at", self.clock().isoformat())

    def record_step(self, service: RecordService, slug: str, kind: str, values: Mapping[str, Any]) -> Any:
        obj = str(values.get("object"))
        if kind == "create_record":
            return self.as_json(slug, obj, service.create(slug, obj, values.get("values") or {}))
        record_id = (
            uuid.UUID(str(values.get("record"))) if kind in ("update_record", "delete_record") else None
        )
        if kind == "update_record":
            assert record_id is not None
            return self.as_json(slug, obj, service.update(slug, obj, record_id, values.get("values") or {}))
        if kind == "delete_record":
            assert record_id is not None
            return self.as_json(slug, obj, service.delete(slug, obj, record_id))
        if kind == "find_records":
            ids = service.ids_matching(slug, obj, values.get("filter") or {})[:FIND_LIMIT]
            found = [service.get(slug, obj, i) for i in ids]
            return [self.as_json(slug, obj, r) for r in found if r is not None]
        raise StepFailed(f"'{kind}' steps are not run by this engine yet.", "STEP_NOT_SUPPORTED")

    def as_json(self, slug: str, object_name: str, record: Mapping[str, Any]) -> dict[str, Any]:
        with self.engine.connect() as conn:
            state = load_state(conn, get_workspace(conn, slug))
        obj = state.object_named(object_name)
        assert obj is not None
        return record_json(obj, record)

    def condition_holds(self, slug: str, event: Mapping[str, Any], condition: Mapping[str, Any]) -> bool:
        """A branch's ``if``: the filter language on the triggering record as it is now."""
        with self.engine.connect() as conn:
            workspace = get_workspace(conn, slug)
            state = load_state(conn, workspace)
            tables = Tables(workspace.namespace(conn.dialect.name), state)
            obj = state.object_named(str(event["object_api_name"]))
            if obj is None:
                return False
            return current_record_matches(
                conn, tables, obj, uuid.UUID(str(event["record_id"])), condition, self.clock(), self.time_zone
            )
