"""Timers: when schedule and relative-date workflows start.

A **schedule** workflow has one timer, at its next cron tick (five fields, in the
workspace's time zone); firing it starts a run per record matching the trigger's filter
and moves the timer to the following tick. A **relative-date** workflow has one timer per
record, at the record's date field plus or minus the offset ("3 days after close_date");
a record event that changes the date plans it again, and deleting the record removes it.
Activating a version plans its timers (relative dates only for times still ahead);
deactivating removes the timers not yet fired.

Timers are rows (``workflow_timers``), so a restart loses none, and firing one writes its
runs and stamps the timer in one transaction: each timer starts its runs once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.engine import Connection

from tessera.metadata.model import ObjectDef
from tessera.metadata.storage import Tables
from tessera.platform.records import record_from_row, record_json
from tessera.platform.tables import workflow_timers

SCHEDULE_KEY = "schedule"


def relative_key(record_id: Any) -> str:
    return f"relative:{record_id}"


def relative_date_workflows(versions: Sequence[Any]) -> list[Any]:
    return [v for v in versions if v.definition["trigger"]["type"] == "relative_date"]


def is_cron(expression: Any) -> bool:
    return isinstance(expression, str) and len(expression.split()) == 5 and croniter.is_valid(expression)


def next_tick(expression: str, after: dt.datetime, time_zone: str) -> dt.datetime:
    """The first cron tick strictly after ``after``, read in ``time_zone``, in UTC."""
    local = after.astimezone(ZoneInfo(time_zone))
    following: dt.datetime = croniter(expression, local).get_next(dt.datetime)
    return following.astimezone(dt.UTC)


def parse_moment(value: Any, time_zone: str) -> dt.datetime | None:
    """A date field's value as a moment: an ISO datetime (UTC unless it says), or a date
    (midnight in ``time_zone``); ``None`` when it is neither."""
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, dt.time(), ZoneInfo(time_zone)).astimezone(dt.UTC)
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def offset_of(trigger: Mapping[str, Any]) -> dt.timedelta:
    """The trigger's offset: positive after the date, negative before it."""
    ((side, amount),) = trigger["offset"].items()
    delta = dt.timedelta(
        days=amount.get("days", 0), hours=amount.get("hours", 0), minutes=amount.get("minutes", 0)
    )
    return -delta if side == "before" else delta


def due_time(trigger: Mapping[str, Any], record: Mapping[str, Any], time_zone: str) -> dt.datetime | None:
    """When a relative-date trigger fires for ``record`` (``None``: its date is empty)."""
    moment = parse_moment(record.get(trigger["date_field"]), time_zone)
    return None if moment is None else moment + offset_of(trigger)


def set_timer(
    conn: Connection,
    *,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    version: int,
    key: str,
    fire_at: dt.datetime | None,
    record_id: uuid.UUID | None = None,
) -> None:
    """Plan (or move, or with ``fire_at=None`` remove) the timer ``key``. A timer that
    already fired at the same time stays fired."""
    where = (workflow_timers.c.workflow_id == workflow_id, workflow_timers.c.key == key)
    current = conn.execute(
        sa.select(workflow_timers.c.fire_at, workflow_timers.c.fired_at).where(*where)
    ).first()
    if fire_at is None:
        if current is not None and current.fired_at is None:
            conn.execute(sa.delete(workflow_timers).where(*where))
        return
    if current is None:
        conn.execute(
            sa.insert(workflow_timers).values(
                id=uuid.uuid4(),
                workspace_id=workspace_id,
                workflow_id=workflow_id,
                version=version,
                record_id=record_id,
                fire_at=fire_at,
                key=key,
            )
        )
    elif current.fire_at != fire_at:
        conn.execute(
            sa.update(workflow_timers).where(*where).values(fire_at=fire_at, fired_at=None, version=version)
        )


def plan_relative_date(
    conn: Connection,
    tables: Tables,
    version: Any,
    event: Mapping[str, Any],
    *,
    workspace_id: uuid.UUID,
    time_zone: str,
) -> None:
    """Plan again the timer of the event's record (a record event of the trigger's object)."""
    trigger = version.definition["trigger"]
    record_id = uuid.UUID(str(event["record_id"]))
    if event["kind"] == "updated" and trigger["date_field"] not in (event.get("changed_fields") or []):
        return
    fire_at = None if event["kind"] == "deleted" else due_time(trigger, event.get("after") or {}, time_zone)
    set_timer(
        conn,
        workspace_id=workspace_id,
        workflow_id=version.workflow_id,
        version=version.version,
        key=relative_key(record_id),
        fire_at=fire_at,
        record_id=record_id,
    )


def plan_on_activation(
    conn: Connection,
    tables: Tables,
    *,
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    version: int,
    definition: Mapping[str, Any],
    now: dt.datetime,
    time_zone: str,
) -> None:
    """Replace the workflow's unfired timers by those of the version now active."""
    remove_timers(conn, workflow_id)
    trigger = definition["trigger"]
    if trigger["type"] == "schedule":
        set_timer(
            conn,
            workspace_id=workspace_id,
            workflow_id=workflow_id,
            version=version,
            key=SCHEDULE_KEY,
            fire_at=next_tick(trigger["cron"], now, time_zone),
        )
    elif trigger["type"] == "relative_date":
        obj = tables.state.object_named(trigger["object"])
        assert obj is not None  # the version was checked against the model
        for record in live_records(conn, tables, obj, trigger["date_field"]):
            fire_at = due_time(trigger, record, time_zone)
            if fire_at is not None and fire_at > now:
                set_timer(
                    conn,
                    workspace_id=workspace_id,
                    workflow_id=workflow_id,
                    version=version,
                    key=relative_key(record["id"]),
                    fire_at=fire_at,
                    record_id=uuid.UUID(str(record["id"])),
                )


def remove_timers(conn: Connection, workflow_id: uuid.UUID) -> None:
    """Remove the workflow's timers that have not fired (deactivation, a new version)."""
    conn.execute(
        sa.delete(workflow_timers).where(
            workflow_timers.c.workflow_id == workflow_id, workflow_timers.c.fired_at.is_(None)
        )
    )


def live_records(conn: Connection, tables: Tables, obj: ObjectDef, date_field: str) -> list[dict[str, Any]]:
    """The object's records not in the recycle bin whose ``date_field`` is set, as JSON."""
    table = tables.of(obj)
    rows = conn.execute(
        sa.select(table).where(table.c[date_field].is_not(None), table.c.deleted_at.is_(None))
    ).mappings()
    return [record_json(obj, record_from_row(obj, row)) for row in rows]
