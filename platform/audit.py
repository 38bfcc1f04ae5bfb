"""The audit trail: who changed what, when.

- **Record history**: every change of a field marked ``track_history`` (its old and new
  value, the record change that made it, the actor), written by the record service in
  the transaction of the change (:meth:`RecordWriter.record_history`).
- **Metadata changes**: the change log of the metadata store (who, when, each change with
  what it was before and after, the SQL that ran).
- **Admin events**: roles saved and deleted, users created and changed, API keys created
  and revoked — who, when, the subject, and what it was before and after
  (:func:`record_admin_event`, written in the transaction of the change).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tessera.metadata.store import committed_tables
from tessera.platform.permissions import SYSTEM_ACCESS, Access, visible_state
from tessera.platform.tables import audit_events, record_history
from tessera.platform.workspaces import Workspace, get_workspace


@dataclass(frozen=True)
class HistoryFilter:
    """Which history entries to list; every given condition holds."""

    object: str | None = None
    record_id: uuid.UUID | None = None
    field: str | None = None
    actor: uuid.UUID | None = None
    changed_after: dt.datetime | None = None
    changed_before: dt.datetime | None = None


@dataclass(frozen=True)
class HistoryEntry:
    object: str
    record_id: uuid.UUID
    field: str
    kind: str
    old_value: Any
    new_value: Any
    actor: uuid.UUID | None
    changed_at: dt.datetime


def record_history_of(
    engine: Engine,
    workspace: str,
    where: HistoryFilter | None = None,
    *,
    limit: int = 100,
    access: Access = SYSTEM_ACCESS,
) -> list[HistoryEntry]:
    """History entries of the workspace, newest first: those of the fields ``access`` may
    read, on the records it reaches (as they are now)."""
    where = where or HistoryFilter()
    table = record_history
    with engine.connect() as conn:
        ws = get_workspace(conn, workspace)
        query = sa.select(table).where(table.c.workspace_id == ws.id)
        if not access.unrestricted:
            query = query.where(visible_history(conn, ws, access))
        for column, value in (
            (table.c.object_api_name, where.object),
            (table.c.record_id, where.record_id),
            (table.c.field_api_name, where.field),
            (table.c.actor, where.actor),
        ):
            if value is not None:
                query = query.where(column == value)
        if where.changed_after is not None:
            query = query.where(table.c.changed_at >= where.changed_after)
        if where.changed_before is not None:
            query = query.where(table.c.changed_at < where.changed_before)
        rows = conn.execute(query.order_by(table.c.changed_at.desc(), table.c.id).limit(limit))
        return [
            HistoryEntry(
                r.object_api_name,
                r.record_id,
                r.field_api_name,
                r.kind,
                r.old_value,
                r.new_value,
                r.actor,
                r.changed_at,
            )
            for r in rows
        ]


def visible_history(conn: Connection, workspace: Workspace, access: Access) -> sa.ColumnElement[bool]:
    """The history entries of fields ``access`` may read, on records it reaches."""
    tables = committed_tables(conn, workspace)
    table = record_history
    allowed: list[sa.ColumnElement[bool]] = []
    for obj in visible_state(tables.state, access.role).objects:
        condition = sa.and_(
            table.c.object_id == obj.id, table.c.field_api_name.in_([f.api_name for f in obj.fields])
        )
        records = tables.of(obj)
        reach = access.reach(obj, records)
        if reach:
            condition = sa.and_(condition, table.c.record_id.in_(sa.select(records.c.id).where(*reach)))
        allowed.append(condition)
    return sa.or_(sa.false(), *allowed)


@dataclass(frozen=True)
class AdminEvent:
    kind: str
    subject: str
    actor: str
    at: dt.datetime
    before: Any
    after: Any


@dataclass(frozen=True)
class AdminEventFilter:
    """Which admin events to list; every given condition holds."""

    kind: str | None = None
    subject: str | None = None
    actor: str | None = None
    after: dt.datetime | None = None
    before: dt.datetime | None = None


def record_admin_event(
    conn: Connection,
    workspace_id: uuid.UUID,
    kind: str,
    subject: str,
    actor: str,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    conn.execute(
        sa.insert(audit_events).values(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            kind=kind,
            subject=subject,
            actor=actor,
            at=dt.datetime.now(dt.UTC),
            before=before,
            after=after,
        )
    )


def admin_events(
    engine: Engine, workspace: str, where: AdminEventFilter | None = None, *, limit: int = 100
) -> list[AdminEvent]:
    """The workspace's admin events, newest first."""
    where = where or AdminEventFilter()
    table = audit_events
    with engine.connect() as conn:
        ws = get_workspace(conn, workspace)
        query = sa.select(table).where(table.c.workspace_id == ws.id)
        for column, value in (
            (table.c.kind, where.kind),
            (table.c.subject, where.subject),
            (table.c.actor, where.actor),
        ):
            if value is not None:
                query = query.where(column == value)
        if where.after is not None:
            query = query.where(table.c.at >= where.after)
        if where.before is not None:
            query = query.where(table.c.at < where.before)
        rows = conn.execute(query.order_by(table.c.at.desc(), table.c.id).limit(limit))
        return [AdminEvent(r.kind, r.subject, r.actor, r.at, r.before, r.after) for r in rows]
