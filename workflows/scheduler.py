"""The scheduler: fires due timers and hands due runs to workers.

Every worker process runs one loop of it (``tessera worker``, and ``tessera serve`` on the
embedded default). Each tick it

1. **fires timers** that are due — a schedule's tick starts a run per matching record, a
   relative date starts the run of its record — writing the runs and moving or stamping
   the timer in one transaction (each tick fires once, however many schedulers run);
2. **dispatches runs** that are due: queued, waiting whose time has come, and running
   whose lease ran out (the worker died). It stamps a dispatch token and a lease on each,
   commits, then sends ``run_workflow(run_id, token)`` to the broker; a message lost on the
   way is sent again when that lease runs out.

The worker's actor claims the run with the token (:meth:`WorkflowEngine.resume`): of two
deliveries of one message, one runs it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dramatiq
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tessera.metadata.model import ObjectDef
from tessera.metadata.storage import Tables
from tessera.metadata.store import committed_tables
from tessera.platform.database import write_transaction
from tessera.platform.errors import TesseraError
from tessera.platform.filtering import compile_filter
from tessera.platform.records import record_from_row, record_json
from tessera.platform.tables import workflow_runs, workflow_timers
from tessera.platform.workspaces import workspace_by_id
from tessera.workflows.engine import PENDING, WorkflowEngine
from tessera.workflows.store import WorkflowStore, WorkflowVersion
from tessera.workflows.timers import SCHEDULE_KEY, due_time, next_tick, set_timer
from tessera.workflows.triggers import current_record_matches

logger = logging.getLogger("tessera.workflows")
RUN_QUEUE = "tessera_workflow_runs"
RUN_ACTOR = "run_workflow"
#: the most records one schedule tick starts runs for
SCHEDULE_LIMIT = 10_000


def register_run_actor(
    broker: dramatiq.Broker, workflows: WorkflowEngine
) -> dramatiq.Actor[[str, str], None]:
    """The actor that executes workflow runs, on ``broker``."""

    def run_workflow(run_id: str, dispatch_token: str) -> None:
        workflows.resume(uuid.UUID(run_id), uuid.UUID(dispatch_token))

    return dramatiq.Actor(
        run_workflow,
        broker=broker,
        actor_name=RUN_ACTOR,
        queue_name=RUN_QUEUE,
        priority=0,
        # The engine retries steps itself (per the workflow's policy); a failing message
        # is a fault the lease recovers from, not something to redeliver twenty times.
        options={"max_retries": 0},
    )


@dataclass(frozen=True)
class TimerContext:
    """What firing one timer works with: its workspace, version, model and object."""

    slug: str
    version: WorkflowVersion
    tables: Tables
    obj: ObjectDef

    def matching(
        self,
        conn: Connection,
        filter_doc: Mapping[str, Any],
        path: tuple[str, ...],
        now: dt.datetime,
        time_zone: str,
        *,
        record_id: uuid.UUID | None = None,
    ) -> list[sa.RowMapping]:
        """The live records of the object matching ``filter_doc`` (one of them, by id)."""
        table = self.tables.of(self.obj)
        condition = compile_filter(
            filter_doc, self.obj, table, self.tables, path=path, now=now, time_zone=time_zone
        )
        query = sa.select(table).where(table.c.deleted_at.is_(None), condition)
        if record_id is not None:
            query = query.where(table.c.id == record_id)
        return list(
            conn.execute(query.order_by(table.c.created_at, table.c.id).limit(SCHEDULE_LIMIT)).mappings()
        )


class WorkflowScheduler:
    def __init__(
        self,
        workflows: WorkflowEngine,
        actor: dramatiq.Actor[[str, str], None] | None,
        *,
        batch_size: int = 500,
        redispatch_after: dt.timedelta = dt.timedelta(minutes=1),
    ) -> None:
        self.workflows = workflows
        self.engine = workflows.engine
        self.actor = actor
        self.batch_size = batch_size
        self.redispatch_after = redispatch_after

    def tick(self) -> int:
        """Fire due timers, then dispatch due runs; the number of runs dispatched."""
        self.fire_timers()
        return self.dispatch_runs()

    # -- runs ----------------------------------------------------------------------------
    def claim_runs(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Stamp a dispatch token on the due runs; (run id, token) pairs to send."""
        now = self.workflows.clock()
        due = sa.and_(
            workflow_runs.c.status.in_(PENDING),
            sa.or_(workflow_runs.c.wake_at.is_(None), workflow_runs.c.wake_at <= now),
            sa.or_(workflow_runs.c.lease_until.is_(None), workflow_runs.c.lease_until < now),
        )
        with self.engine.connect() as conn:
            # A read first: an idle scheduler takes no write lock (SQLite has one).
            if conn.execute(sa.select(workflow_runs.c.id).where(due).limit(1)).first() is None:
                return []
        claimed: list[tuple[uuid.UUID, uuid.UUID]] = []
        with write_transaction(self.engine) as conn:
            query = sa.select(workflow_runs.c.id).where(due).order_by(workflow_runs.c.wake_at)
            query = query.limit(self.batch_size)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            for run_id in conn.execute(query).scalars().all():
                token = uuid.uuid4()
                conn.execute(
                    sa.update(workflow_runs)
                    .where(workflow_runs.c.id == run_id)
                    .values(lease_token=token, lease_until=now + self.redispatch_after)
                )
                claimed.append((run_id, token))
        return claimed

    def dispatch_runs(self) -> int:
        claimed = self.claim_runs()
        for run_id, token in claimed:
            if self.actor is None:
                self.workflows.resume(run_id, token)  # no broker: run here (tests, one-shot CLI)
            else:
                self.actor.send(str(run_id), str(token))
        return len(claimed)

    # -- timers --------------------------------------------------------------------------
    def fire_timers(self) -> int:
        """Start the runs of the due timers; the number of timers fired."""
        now = self.workflows.clock()
        due = sa.and_(workflow_timers.c.fired_at.is_(None), workflow_timers.c.fire_at <= now)
        with self.engine.connect() as conn:
            if conn.execute(sa.select(workflow_timers.c.id).where(due).limit(1)).first() is None:
                return 0
        with write_transaction(self.engine) as conn:
            query = sa.select(workflow_timers).where(due).order_by(workflow_timers.c.fire_at)
            query = query.limit(self.batch_size)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            timers = [dict(row) for row in conn.execute(query).mappings()]
            models: dict[uuid.UUID, tuple[str, Tables]] = {}
            for timer in timers:
                try:
                    with conn.begin_nested():
                        self.fire(conn, timer, now, models)
                except TesseraError as exc:
                    # The data model changed under the workflow (a field of its filter was
                    # deleted): this timer cannot fire again; the others must still.
                    logger.error("workflow %s cannot start on its timer: %s", timer["workflow_id"], exc)
                    conn.execute(sa.delete(workflow_timers).where(workflow_timers.c.id == timer["id"]))
        return len(timers)

    def fire(
        self,
        conn: Connection,
        timer: Mapping[str, Any],
        now: dt.datetime,
        models: dict[uuid.UUID, tuple[str, Tables]],
    ) -> None:
        where = workflow_timers.c.id == timer["id"]
        version = WorkflowStore.active_version_of(conn, timer["workflow_id"])
        if version is None or version.version != timer["version"]:
            conn.execute(sa.delete(workflow_timers).where(where))  # a stale plan: nothing to run
            return
        if timer["workspace_id"] not in models:
            workspace = workspace_by_id(conn, timer["workspace_id"])
            assert workspace is not None  # timers go with their workspace (ON DELETE CASCADE)
            models[timer["workspace_id"]] = (workspace.slug, committed_tables(conn, workspace))
        slug, tables = models[timer["workspace_id"]]
        obj = tables.state.object_named(version.definition["trigger"]["object"])
        if obj is None:  # the object was deleted since
            conn.execute(sa.delete(workflow_timers).where(where))
        elif timer["key"] == SCHEDULE_KEY:
            self.fire_schedule(conn, timer, now, TimerContext(slug, version, tables, obj))
        else:
            self.fire_relative_date(conn, timer, now, TimerContext(slug, version, tables, obj))

    def fire_schedule(
        self, conn: Connection, timer: Mapping[str, Any], now: dt.datetime, at: TimerContext
    ) -> None:
        """A run per record matching the filter, then the timer moves to the next tick."""
        trigger = at.version.definition["trigger"]
        for row in at.matching(conn, trigger.get("filter") or {}, ("trigger", "filter"), now, self.time_zone):
            record = record_json(at.obj, record_from_row(at.obj, row))
            self.start(conn, at, record, "schedule", f"schedule:{timer['fire_at'].isoformat()}:{row['id']}")
        # The next tick after now: ticks missed while no scheduler ran fire once, not each.
        following = next_tick(trigger["cron"], max(timer["fire_at"], now), self.time_zone)
        conn.execute(
            sa.update(workflow_timers).where(workflow_timers.c.id == timer["id"]).values(fire_at=following)
        )

    def fire_relative_date(
        self, conn: Connection, timer: Mapping[str, Any], now: dt.datetime, at: TimerContext
    ) -> None:
        """The record's run, if it still exists, its date still says now and the trigger's
        condition holds; the timer is stamped fired."""
        where = workflow_timers.c.id == timer["id"]
        trigger = at.version.definition["trigger"]
        found = at.matching(conn, {}, (), now, self.time_zone, record_id=timer["record_id"])
        if not found:  # deleted since
            conn.execute(sa.delete(workflow_timers).where(where))
            return
        record = record_json(at.obj, record_from_row(at.obj, found[0]))
        should_fire_at = due_time(trigger, record, self.time_zone)
        if should_fire_at != timer["fire_at"]:  # the date moved and no event planned it again yet
            set_timer(
                conn,
                workspace_id=timer["workspace_id"],
                workflow_id=timer["workflow_id"],
                version=timer["version"],
                key=timer["key"],
                fire_at=should_fire_at,
                record_id=timer["record_id"],
            )
            return
        condition = trigger.get("condition") or {}
        # e.g. "3 days after close_date, if still won": when it no longer is, nothing runs
        if not condition or current_record_matches(
            conn, at.tables, at.obj, timer["record_id"], condition, now, self.time_zone
        ):
            self.start(
                conn, at, record, "relative_date", f"relative:{record['id']}:{timer['fire_at'].isoformat()}"
            )
        conn.execute(sa.update(workflow_timers).where(where).values(fired_at=now))

    def start(
        self, conn: Connection, at: TimerContext, record: Mapping[str, Any], kind: str, key: str
    ) -> None:
        self.workflows.start(
            at.slug,
            at.version,
            trigger_key=key,
            data=self.workflows.trigger_data(at.version, kind, record=record),
            record_id=uuid.UUID(str(record["id"])),
            conn=conn,
        )

    @property
    def time_zone(self) -> str:
        return self.workflows.time_zone
