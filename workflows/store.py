"""Workflow versions: edit a draft, activate it; the active version is the one that runs.

Saving a document makes (or replaces) the workflow's draft, validated against the
workspace's data model. Activating makes the draft — or any earlier version — the active
one; the version active before becomes inactive. Versions are never changed once they
have been active, so a run can keep the snapshot of the version it ran.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tessera.metadata.model import MetadataState
from tessera.metadata.storage import Tables
from tessera.metadata.store import load_state
from tessera.platform.database import write_transaction
from tessera.platform.errors import NotFound, TesseraError
from tessera.platform.tables import users, workflow_runs, workflow_versions, workflows
from tessera.platform.workspaces import Workspace, get_workspace
from tessera.workflows.definitions import check_workflow
from tessera.workflows.timers import plan_on_activation, remove_timers


@dataclass(frozen=True)
class WorkflowRun:
    id: uuid.UUID
    workflow: str
    version: int
    #: queued, running, waiting, succeeded, failed or cancelled
    status: str
    record_id: uuid.UUID | None
    event_id: uuid.UUID | None
    steps: list[dict[str, Any]]
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    #: what started it: event, schedule, relative, manual or webhook
    trigger: str = "event"
    #: when a waiting run goes on (a wait step, or the next attempt of a failed step)
    wake_at: dt.datetime | None = None


@dataclass(frozen=True)
class RunFilter:
    """Which runs to list; every given condition holds."""

    id: uuid.UUID | None = None
    workflow: str | None = None
    statuses: tuple[str, ...] = ()
    record_id: uuid.UUID | None = None
    trigger: str | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None


@dataclass(frozen=True)
class WorkflowVersion:
    workflow_id: uuid.UUID
    name: str
    version: int
    status: str  # draft, active, inactive
    definition: Mapping[str, Any]
    created_by: str
    created_at: dt.datetime


def version_from_row(row: sa.RowMapping) -> WorkflowVersion:
    """A version from a row of ``workflow_versions`` joined with its workflow's name."""
    return WorkflowVersion(
        row["workflow_id"],
        row["name"],
        row["version"],
        row["status"],
        row["definition"],
        row["created_by"],
        row["created_at"],
    )


class WorkflowStore:
    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        time_zone: str = "UTC",
    ) -> None:
        self.engine = engine
        self.clock = clock
        #: the zone of schedules' cron expressions and of relative dates on date fields
        self.time_zone = time_zone

    def validate(self, workspace_slug: str, document: Any) -> None:
        """Raise :class:`TesseraError` listing what is wrong with ``document``."""
        with self.engine.connect() as conn:
            check_workflow(document, load_state(conn, get_workspace(conn, workspace_slug)))

    def save_draft(self, workspace_slug: str, document: Any, *, actor: str = "system") -> WorkflowVersion:
        """Make ``document`` the draft of the workflow it names (created when new)."""
        with write_transaction(self.engine) as conn:
            workspace = get_workspace(conn, workspace_slug)
            version = self.save_draft_in(conn, workspace, load_state(conn, workspace), document, actor=actor)
        return self.version(workspace_slug, document["name"], version)

    def save_draft_in(
        self, conn: Connection, workspace: Workspace, state: MetadataState, document: Any, *, actor: str
    ) -> int:
        """:meth:`save_draft` in the caller's transaction, on the data model ``state``; the
        draft's version number."""
        now = self.clock()
        check_workflow(document, state)
        name = document["name"]
        workflow_id = self._workflow_id(conn, workspace, name)
        if workflow_id is None:
            workflow_id = uuid.uuid4()
            conn.execute(
                sa.insert(workflows).values(
                    workspace_id=workspace.id, id=workflow_id, name=name, created_at=now, updated_at=now
                )
            )
        draft = self._version_where(conn, workspace, workflow_id, status="draft")
        if draft is not None:
            conn.execute(
                sa.update(workflow_versions)
                .where(*self._key(workspace, workflow_id), workflow_versions.c.version == draft)
                .values(definition=dict(document), created_by=actor, updated_at=now)
            )
            version = draft
        else:
            last = conn.execute(
                sa.select(sa.func.max(workflow_versions.c.version)).where(*self._key(workspace, workflow_id))
            ).scalar()
            version = (last or 0) + 1
            conn.execute(
                sa.insert(workflow_versions).values(
                    workspace_id=workspace.id,
                    workflow_id=workflow_id,
                    version=version,
                    status="draft",
                    definition=dict(document),
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
            )
        conn.execute(
            sa.update(workflows)
            .where(workflows.c.workspace_id == workspace.id, workflows.c.id == workflow_id)
            .values(updated_at=now)
        )
        return version

    def activate(self, workspace_slug: str, name: str, version: int | None = None) -> WorkflowVersion:
        """Make the draft (or ``version``) the active version; it is checked against the
        data model as it is now."""
        with write_transaction(self.engine) as conn:
            workspace = get_workspace(conn, workspace_slug)
            chosen = self.activate_in(conn, workspace, load_state(conn, workspace), name, version)
        return self.version(workspace_slug, name, chosen)

    def activate_in(
        self,
        conn: Connection,
        workspace: Workspace,
        state: MetadataState,
        name: str,
        version: int | None = None,
    ) -> int:
        """:meth:`activate` in the caller's transaction, on the data model ``state``; the
        version made active."""
        now = self.clock()
        workflow_id = self._require(conn, workspace, name)
        chosen = (
            version if version is not None else self._version_where(conn, workspace, workflow_id, "draft")
        )
        if chosen is None:
            raise TesseraError.single(
                "NO_DRAFT", f"Workflow '{name}' has no draft to activate; name a version.", ("version",)
            )
        row = conn.execute(
            sa.select(workflow_versions.c.definition).where(
                *self._key(workspace, workflow_id), workflow_versions.c.version == chosen
            )
        ).first()
        if row is None:
            raise NotFound.single(
                "UNKNOWN_VERSION", f"Workflow '{name}' has no version {chosen}.", ("version",)
            )
        check_workflow(row[0], state)
        self.check_run_as(conn, workspace, row[0])
        plan_on_activation(
            conn,
            Tables(workspace.namespace(conn.dialect.name), state),
            workspace_id=workspace.id,
            workflow_id=workflow_id,
            version=chosen,
            definition=row[0],
            now=self.clock(),
            time_zone=self.time_zone,
        )
        secret = {}
        if row[0]["trigger"]["type"] == "webhook" and self.webhook_secret(conn, workflow_id) is None:
            secret = {"webhook_secret": secrets.token_urlsafe(32)}
        conn.execute(
            sa.update(workflow_versions)
            .where(*self._key(workspace, workflow_id), workflow_versions.c.status == "active")
            .values(status="inactive", updated_at=now)
        )
        conn.execute(
            sa.update(workflow_versions)
            .where(*self._key(workspace, workflow_id), workflow_versions.c.version == chosen)
            .values(status="active", updated_at=now)
        )
        conn.execute(
            sa.update(workflows)
            .where(workflows.c.workspace_id == workspace.id, workflows.c.id == workflow_id)
            .values(active_version=chosen, updated_at=now, **secret)
        )
        return chosen

    @staticmethod
    def check_run_as(conn: Connection, workspace: Workspace, definition: Mapping[str, Any]) -> None:
        """The user a workflow writes as must be an active user of the workspace."""
        run_as = definition.get("settings", {}).get("run_as")
        if run_as is None:
            return
        active = conn.execute(
            sa.select(users.c.active).where(
                users.c.workspace_id == workspace.id, users.c.id == uuid.UUID(run_as)
            )
        ).scalar()
        if not active:
            raise TesseraError.single(
                "UNKNOWN_USER",
                f"settings.run_as is {run_as}: no active user of this workspace has that id "
                "(tessera user list).",
                ("settings", "run_as"),
            )

    def deactivate(self, workspace_slug: str, name: str) -> None:
        """Stop running the workflow (its versions are kept)."""
        now = self.clock()
        with write_transaction(self.engine) as conn:
            workspace = get_workspace(conn, workspace_slug)
            workflow_id = self._require(conn, workspace, name)
            conn.execute(
                sa.update(workflow_versions)
                .where(*self._key(workspace, workflow_id), workflow_versions.c.status == "active")
                .values(status="inactive", updated_at=now)
            )
            conn.execute(
                sa.update(workflows)
                .where(workflows.c.workspace_id == workspace.id, workflows.c.id == workflow_id)
                .values(active_version=None, updated_at=now)
            )
            remove_timers(conn, workflow_id)

    def versions(
        self, workspace_slug: str, name: str | None = None, *, status: str | None = None
    ) -> list[WorkflowVersion]:
        """Every version (of one workflow, or all; of one status, or any), newest first."""
        with self.engine.connect() as conn:
            workspace = get_workspace(conn, workspace_slug)
            query = (
                sa.select(workflow_versions, workflows.c.name)
                .join(workflows, self._joined(workflow_versions))
                .where(workflow_versions.c.workspace_id == workspace.id)
                .order_by(workflows.c.name, workflow_versions.c.version.desc())
            )
            if name is not None:
                self._require(conn, workspace, name)
                query = query.where(workflows.c.name == name)
            if status is not None:
                query = query.where(workflow_versions.c.status == status)
            return [version_from_row(r) for r in conn.execute(query).mappings()]

    @classmethod
    def active_version_of(cls, conn: Connection, workflow_id: uuid.UUID) -> WorkflowVersion | None:
        """The version of the workflow that runs now, if any (read in ``conn``)."""
        row = (
            conn.execute(
                sa.select(workflow_versions, workflows.c.name)
                .join(workflows, cls._joined(workflow_versions))
                .where(workflow_versions.c.workflow_id == workflow_id, workflow_versions.c.status == "active")
            )
            .mappings()
            .first()
        )
        return None if row is None else version_from_row(row)

    def version(self, workspace_slug: str, name: str, version: int) -> WorkflowVersion:
        return next(v for v in self.versions(workspace_slug, name) if v.version == version)

    def active(self, workspace_slug: str) -> list[WorkflowVersion]:
        """The versions that run."""
        return self.versions(workspace_slug, status="active")

    def runs(
        self, workspace_slug: str, where: RunFilter = RunFilter(), *, limit: int = 50
    ) -> list[WorkflowRun]:
        """Runs, newest first, with their steps."""
        where = where or RunFilter()
        with self.engine.connect() as conn:
            workspace = get_workspace(conn, workspace_slug)
            query = (
                sa.select(workflow_runs, workflows.c.name)
                .join(workflows, self._joined(workflow_runs))
                .where(workflow_runs.c.workspace_id == workspace.id)
                .order_by(workflow_runs.c.created_at.desc(), workflow_runs.c.id)
                .limit(limit)
            )
            if where.id is not None:
                query = query.where(workflow_runs.c.id == where.id)
            if where.workflow is not None:
                query = query.where(workflows.c.name == where.workflow)
            if where.statuses:
                query = query.where(workflow_runs.c.status.in_(where.statuses))
            if where.record_id is not None:
                query = query.where(workflow_runs.c.record_id == where.record_id)
            if where.trigger is not None:
                query = query.where(workflow_runs.c.trigger_key.like(f"{where.trigger}:%"))
            if where.created_after is not None:
                query = query.where(workflow_runs.c.created_at >= where.created_after)
            if where.created_before is not None:
                query = query.where(workflow_runs.c.created_at < where.created_before)
            return [
                WorkflowRun(
                    r["id"],
                    r["name"],
                    r["version"],
                    r["status"],
                    r["record_id"],
                    r["event_id"],
                    list(r["steps"]),
                    r["error"],
                    r["created_at"],
                    r["finished_at"],
                    trigger=(r["trigger_key"] or "event").split(":", 1)[0],
                    wake_at=r["wake_at"] if r["status"] == "waiting" else None,
                )
                for r in conn.execute(query).mappings()
            ]

    def run(self, workspace_slug: str, run_id: uuid.UUID) -> WorkflowRun:
        found = self.runs(workspace_slug, RunFilter(id=run_id), limit=1)
        if not found:
            raise NotFound.single("UNKNOWN_RUN", f"There is no workflow run {run_id}.", ("id",))
        return found[0]

    def webhook(self, workspace_slug: str, name: str) -> tuple[uuid.UUID, str]:
        """The id and secret of a webhook workflow (its address is ``/hooks/workflows/<id>``)."""
        with self.engine.connect() as conn:
            workspace = get_workspace(conn, workspace_slug)
            workflow_id = self._require(conn, workspace, name)
            secret = self.webhook_secret(conn, workflow_id)
        if secret is None:
            raise TesseraError.single(
                "NOT_A_WEBHOOK",
                f"Workflow '{name}' has no webhook: activate a version whose trigger is a webhook.",
                ("name",),
            )
        return workflow_id, secret

    @staticmethod
    def webhook_secret(conn: Connection, workflow_id: uuid.UUID) -> str | None:
        found: str | None = conn.execute(
            sa.select(workflows.c.webhook_secret).where(workflows.c.id == workflow_id)
        ).scalar()
        return found

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _joined(table: sa.Table) -> sa.ColumnElement[bool]:
        """``table``'s rows to their workflow."""
        return sa.and_(
            workflows.c.workspace_id == table.c.workspace_id, workflows.c.id == table.c.workflow_id
        )

    @staticmethod
    def _key(workspace: Workspace, workflow_id: uuid.UUID) -> list[sa.ColumnElement[bool]]:
        return [
            workflow_versions.c.workspace_id == workspace.id,
            workflow_versions.c.workflow_id == workflow_id,
        ]

    @staticmethod
    def _workflow_id(conn: Connection, workspace: Workspace, name: str) -> uuid.UUID | None:
        found: uuid.UUID | None = conn.execute(
            sa.select(workflows.c.id).where(
                workflows.c.workspace_id == workspace.id, workflows.c.name == name
            )
        ).scalar()
        return found

    def _require(self, conn: Connection, workspace: Workspace, name: str) -> uuid.UUID:
        workflow_id = self._workflow_id(conn, workspace, name)
        if workflow_id is None:
            raise NotFound.single("UNKNOWN_WORKFLOW", f"There is no workflow '{name}'.", ("name",))
        return workflow_id

    def _version_where(
        self, conn: Connection, workspace: Workspace, workflow_id: uuid.UUID, status: str
    ) -> int | None:
        found: int | None = conn.execute(
            sa.select(workflow_versions.c.version).where(
                *self._key(workspace, workflow_id), workflow_versions.c.status == status
            )
        ).scalar()
        return found
