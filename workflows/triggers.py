"""Which workflows a record event fires: the first step of the engine.

A record trigger names the event (``record_created``, ``record_updated``,
``record_deleted``), the object, optionally the fields whose change matters, and a
condition: the filter language — evaluated in SQL on the record as it is now, by the one
filter compiler — where a field may also say ``changed``, ``changed_from`` or
``changed_to``, evaluated on the event's before and after values (operands are converted
by the field's type first, so ``"10"`` matches a decimal stored as ``"10.00"``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tessera.metadata.fields import FieldValueError, field_type
from tessera.metadata.model import ObjectDef
from tessera.metadata.storage import Tables
from tessera.platform.errors import TesseraError
from tessera.platform.filtering import compile_filter
from tessera.workflows.definitions import CHANGE_OPERATORS
from tessera.workflows.store import WorkflowVersion

logger = logging.getLogger("tessera.workflows")
EVENT_TRIGGERS = {"created": "record_created", "updated": "record_updated", "deleted": "record_deleted"}


def fired_by(
    conn: Connection,
    tables: Tables,
    event: Mapping[str, Any],
    versions: Sequence[WorkflowVersion],
    *,
    now: dt.datetime | None = None,
    time_zone: str = "UTC",
) -> list[WorkflowVersion]:
    """The active versions whose trigger this event fires. A trigger the data model broke
    since its activation (a field of its condition deleted) is logged and skipped: the
    other workflows still run."""
    fired = []
    for version in versions:
        try:
            if fires(conn, tables, event, version.definition["trigger"], now=now, time_zone=time_zone):
                fired.append(version)
        except TesseraError as exc:
            logger.error("workflow '%s' cannot evaluate its trigger: %s", version.name, exc)
    return fired


def fires(
    conn: Connection,
    tables: Tables,
    event: Mapping[str, Any],
    trigger: Mapping[str, Any],
    *,
    now: dt.datetime | None = None,
    time_zone: str = "UTC",
) -> bool:
    if trigger.get("type") != EVENT_TRIGGERS.get(str(event["kind"])):
        return False
    if trigger.get("object") != event["object_api_name"]:
        return False
    obj = tables.state.object_named(str(event["object_api_name"]))
    if obj is None:
        return False
    watched = trigger.get("fields")
    if (
        trigger["type"] == "record_updated"
        and watched
        and not set(watched) & set(event.get("changed_fields") or [])
    ):
        return False
    condition = trigger.get("condition") or {}
    plain: dict[str, Any] = {}
    for key, value in condition.items():
        if isinstance(value, Mapping) and any(op in value for op in CHANGE_OPERATORS):
            if not change_holds(obj, key, value, event.get("before") or {}, event.get("after") or {}):
                return False
            rest = {op: v for op, v in value.items() if op not in CHANGE_OPERATORS}
            if rest:
                plain[key] = rest
        else:
            plain[key] = value
    if not plain:
        return True
    return current_record_matches(
        conn, tables, obj, uuid.UUID(str(event["record_id"])), plain, now, time_zone
    )


def change_holds(
    obj: ObjectDef,
    name: str,
    operators: Mapping[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> bool:
    old, new = before.get(name), after.get(name)
    if "changed" in operators and (old != new) != bool(operators["changed"]):
        return False
    if "changed_from" in operators and (old == new or old != as_json(obj, name, operators["changed_from"])):
        return False
    return not (
        "changed_to" in operators and (old == new or new != as_json(obj, name, operators["changed_to"]))
    )


def as_json(obj: ObjectDef, name: str, value: Any) -> Any:
    """An operand as the event holds values: converted by the field's type."""
    fld = obj.field_named(name)
    if fld is None or value is None:
        return value
    ftype = field_type(fld.type)
    try:
        return ftype.to_json(fld, ftype.coerce(fld, value))
    except FieldValueError:
        return value


def current_record_matches(
    conn: Connection,
    tables: Tables,
    obj: ObjectDef,
    record_id: uuid.UUID,
    filter_doc: Mapping[str, Any],
    now: dt.datetime | None,
    time_zone: str,
) -> bool:
    table = tables.of(obj)
    condition = compile_filter(
        filter_doc, obj, table, tables, path=("trigger", "condition"), now=now, time_zone=time_zone
    )
    return conn.execute(sa.select(table.c.id).where(table.c.id == record_id, condition)).first() is not None
