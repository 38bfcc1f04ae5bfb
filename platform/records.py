"""The record service: the one path through which records are written.

GraphQL, workflows, imports, connectors and packages all write here, so every write gets
the same checks — values coerced by their field type, required, unique (batch included),
select membership, lookup targets that exist and are not in the recycle bin, the
object's validation rules — the same system fields, and an outbox event
(``record_events``) in the same transaction. A refused write raises
:class:`~tessera.platform.errors.TesseraError` listing every problem with its path
(relative to the values; prefixed by the index in a batch) and writes nothing.

Several writes compose atomically through :meth:`RecordService.writer`::

    with service.writer("acme") as w:
        company = w.create("company", {...})
        w.create("deal", {"company": str(company["id"])})
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tessera.metadata.fields import FieldValueError, field_type
from tessera.metadata.fields.auto_number import AutoNumberType
from tessera.metadata.model import SYSTEM_FIELDS, FieldDef, MetadataState, ObjectDef
from tessera.metadata.storage import Namespace, Tables
from tessera.metadata.store import load_state
from tessera.platform.database import write_transaction
from tessera.platform.errors import NotFound, Path, Problem, TesseraError
from tessera.platform.filtering import compile_filter
from tessera.platform.tables import auto_number_sequences, record_events
from tessera.platform.workspaces import Workspace, get_workspace

Record = dict[str, Any]
Clock = Callable[[], dt.datetime]
#: system fields a caller may set (the rest are Tessera's)
WRITABLE_SYSTEM_FIELDS = frozenset({"owner"})


class RecordService:
    def __init__(self, engine: Engine, *, clock: Clock | None = None, time_zone: str = "UTC") -> None:
        self.engine = engine
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        #: the zone of relative dates in filters (updateMany, validation rules)
        self.time_zone = time_zone

    @contextmanager
    def writer(self, workspace_slug: str, *, actor: uuid.UUID | None = None) -> Iterator[RecordWriter]:
        """One transaction (and one read of the data model) for several writes: all are
        kept, or none when an exception leaves the block."""
        with write_transaction(self.engine) as conn:
            workspace = get_workspace(conn, workspace_slug)
            state = load_state(conn, workspace)
            yield RecordWriter(conn, workspace, state, self.clock, actor, self.time_zone)

    # -- one write per transaction -----------------------------------------------------
    def create(
        self, workspace: str, object_name: str, values: Mapping[str, Any], *, actor: uuid.UUID | None = None
    ) -> Record:
        with self.writer(workspace, actor=actor) as w:
            return w.create(object_name, values)

    def create_many(
        self,
        workspace: str,
        object_name: str,
        values_list: Sequence[Mapping[str, Any]],
        *,
        actor: uuid.UUID | None = None,
    ) -> list[Record]:
        with self.writer(workspace, actor=actor) as w:
            return w.create_many(object_name, values_list)

    def update(
        self,
        workspace: str,
        object_name: str,
        record_id: uuid.UUID,
        values: Mapping[str, Any],
        *,
        actor: uuid.UUID | None = None,
    ) -> Record:
        with self.writer(workspace, actor=actor) as w:
            return w.update(object_name, record_id, values)

    def update_many(
        self,
        workspace: str,
        object_name: str,
        filter_doc: Mapping[str, Any] | None,
        values: Mapping[str, Any],
        *,
        actor: uuid.UUID | None = None,
    ) -> list[Record]:
        with self.writer(workspace, actor=actor) as w:
            return w.update_many(object_name, filter_doc, values)

    def upsert(
        self,
        workspace: str,
        object_name: str,
        match_field: str,
        values: Mapping[str, Any],
        *,
        actor: uuid.UUID | None = None,
    ) -> tuple[Record, bool]:
        with self.writer(workspace, actor=actor) as w:
            return w.upsert(object_name, match_field, values)

    def delete(
        self, workspace: str, object_name: str, record_id: uuid.UUID, *, actor: uuid.UUID | None = None
    ) -> Record:
        with self.writer(workspace, actor=actor) as w:
            return w.delete(object_name, record_id)

    def restore(
        self, workspace: str, object_name: str, record_id: uuid.UUID, *, actor: uuid.UUID | None = None
    ) -> Record:
        with self.writer(workspace, actor=actor) as w:
            return w.restore(object_name, record_id)

    def destroy(
        self, workspace: str, object_name: str, record_id: uuid.UUID, *, actor: uuid.UUID | None = None
    ) -> uuid.UUID:
        with self.writer(workspace, actor=actor) as w:
            return w.destroy(object_name, record_id)

    def ids_matching(
        self, workspace_slug: str, object_name: str, filter_doc: Mapping[str, Any] | None
    ) -> list[uuid.UUID]:
        """The ids of the live records a filter matches, oldest first."""
        with self.engine.connect() as conn:
            workspace = get_workspace(conn, workspace_slug)
            state = load_state(conn, workspace)
            obj = object_named(state, object_name)
            tables = Tables(workspace.namespace(conn.dialect.name), state)
            table = tables.of(obj)
            condition = compile_filter(
                filter_doc, obj, table, tables, path=("filter",), now=self.clock(), time_zone=self.time_zone
            )
            query = sa.select(table.c.id).where(table.c.deleted_at.is_(None), condition)
            return list(conn.execute(query.order_by(table.c.created_at, table.c.id)).scalars())

    def get(
        self, workspace_slug: str, object_name: str, record_id: uuid.UUID, *, include_deleted: bool = False
    ) -> Record | None:
        with self.engine.connect() as conn:
            workspace = get_workspace(conn, workspace_slug)
            state = load_state(conn, workspace)
            obj = object_named(state, object_name)
            table = Tables(workspace.namespace(conn.dialect.name), state).of(obj)
            query = sa.select(table).where(table.c.id == record_id)
            if not include_deleted:
                query = query.where(table.c.deleted_at.is_(None))
            row = conn.execute(query).mappings().first()
            return None if row is None else record_from_row(obj, row)


def object_named(state: MetadataState, name: str) -> ObjectDef:
    obj = state.object_named(name)
    if obj is None:
        known = ", ".join(o.api_name for o in state.objects) or "none yet"
        raise NotFound.single(
            "UNKNOWN_OBJECT", f"There is no object '{name}' (objects: {known}).", ("object",)
        )
    return obj


class RecordWriter:
    """Writes records inside one transaction (see :meth:`RecordService.writer`)."""

    def __init__(
        self,
        conn: Connection,
        workspace: Workspace,
        state: MetadataState,
        clock: Clock,
        actor: uuid.UUID | None,
        time_zone: str = "UTC",
    ) -> None:
        self.conn = conn
        self.time_zone = time_zone
        self.workspace = workspace
        self.state = state
        self.clock = clock
        self.actor = actor
        self.namespace: Namespace = workspace.namespace(conn.dialect.name)
        self.tables = Tables(self.namespace, state)

    # -- create --------------------------------------------------------------------------
    def create(self, object_name: str, values: Mapping[str, Any]) -> Record:
        return self._create(object_named(self.state, object_name), [values], batch=False)[0]

    def create_many(self, object_name: str, values_list: Sequence[Mapping[str, Any]]) -> list[Record]:
        obj = object_named(self.state, object_name)
        if not values_list:
            return []
        return self._create(obj, values_list, batch=True)

    def _create(
        self, obj: ObjectDef, values_list: Sequence[Mapping[str, Any]], *, batch: bool
    ) -> list[Record]:
        table = self.tables.of(obj)
        problems: list[Problem] = []
        typed_list: list[dict[str, Any]] = []
        for i, values in enumerate(values_list):
            prefix: Path = (i,) if batch else ()
            if not isinstance(values, Mapping):
                problems.append(Problem("INVALID_INPUT", "A record's values are an object.", prefix))
                typed_list.append({})
                continue
            typed, found = self.coerce(obj, values)
            for fld in obj.fields:
                ftype = field_type(fld.type)
                if ftype.generated:
                    continue
                if fld.api_name not in values:
                    typed[fld.api_name] = ftype.default_value(fld)
                if fld.required and typed.get(fld.api_name) is None:
                    found.append(Problem("FIELD_REQUIRED", f"'{fld.api_name}' is required.", (fld.api_name,)))
            problems += [p.under(prefix) for p in found]
            typed_list.append(typed)
        problems += self.link_problems(obj, typed_list, batch)
        problems += self.unique_problems(obj, table, typed_list, batch, exclude=[None] * len(typed_list))
        if problems:
            raise TesseraError(problems)
        now = self.clock()
        rows: list[dict[str, Any]] = []
        for typed in typed_list:
            for fld in obj.fields:
                ftype = field_type(fld.type)
                if isinstance(ftype, AutoNumberType):
                    typed[fld.api_name] = ftype.format(fld, self.next_number(fld))
            row: dict[str, Any] = {
                "id": uuid.uuid4(),
                "created_at": now,
                "updated_at": now,
                "created_by": self.actor,
                "updated_by": self.actor,
                "owner": typed.pop("owner", None) or self.actor,
                "deleted_at": None,
            }
            for fld in obj.fields:
                row.update(field_type(fld.type).to_columns(fld, typed.get(fld.api_name)))
            rows.append(row)
        self.insert(obj, table, rows)
        records = [record_from_row(obj, row) for row in rows]
        self.check_rules(obj, [r["id"] for r in records], batch)
        self.emit(obj, [("created", r["id"], None, r, None) for r in records])
        return records

    def insert(self, obj: ObjectDef, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        try:
            with self.conn.begin_nested():
                self.conn.execute(sa.insert(table), rows)
        except sa.exc.IntegrityError as exc:
            raise integrity_problem(obj, self.namespace, exc) from None

    # -- update --------------------------------------------------------------------------
    def update(self, object_name: str, record_id: uuid.UUID, values: Mapping[str, Any]) -> Record:
        obj = object_named(self.state, object_name)
        current = self.live_record(obj, record_id)
        return self._update(obj, [current], values, batch=False)[0]

    def update_many(
        self, object_name: str, filter_doc: Mapping[str, Any] | None, values: Mapping[str, Any]
    ) -> list[Record]:
        obj = object_named(self.state, object_name)
        table = self.tables.of(obj)
        condition = compile_filter(
            filter_doc, obj, table, self.tables, path=("filter",), now=self.clock(), time_zone=self.time_zone
        )
        rows = self.conn.execute(
            sa.select(table)
            .where(table.c.deleted_at.is_(None), condition)
            .order_by(table.c.created_at, table.c.id)
        ).mappings()
        current = [record_from_row(obj, row) for row in rows]
        if not current:
            return []
        return self._update(obj, current, values, batch=True)

    def _update(
        self, obj: ObjectDef, current: list[Record], values: Mapping[str, Any], *, batch: bool
    ) -> list[Record]:
        table = self.tables.of(obj)
        if not isinstance(values, Mapping):
            raise TesseraError.single("INVALID_INPUT", "A record's values are an object.")
        typed, problems = self.coerce(obj, values)
        for name, value in typed.items():
            fld = obj.field_named(name)
            if fld is not None and fld.required and value is None:
                problems.append(
                    Problem("FIELD_REQUIRED", f"'{name}' is required; it cannot be emptied.", (name,))
                )
        if problems:
            raise TesseraError(problems)
        changed_records: list[tuple[Record, Record, list[str]]] = []
        for record in current:
            changed = [name for name, value in typed.items() if record.get(name) != value]
            if changed:
                changed_records.append((record, {**record, **typed}, changed))
        if not changed_records:
            return current
        targets = [after for _, after, _ in changed_records]
        problems = self.link_problems(obj, [typed], batch=False)
        problems += self.unique_problems(
            obj,
            table,
            [{k: v for k, v in typed.items()} for _ in targets],
            batch,
            exclude=[r["id"] for r in targets],
        )
        if problems:
            raise TesseraError(problems)
        now = self.clock()
        columns: dict[str, Any] = {"updated_at": now, "updated_by": self.actor}
        for name, value in typed.items():
            fld = obj.field_named(name)
            if fld is None:
                columns[name] = value  # owner
            else:
                columns.update(field_type(fld.type).to_columns(fld, value))
        ids = [r["id"] for r in targets]
        try:
            with self.conn.begin_nested():
                self.conn.execute(sa.update(table).where(table.c.id.in_(ids)).values(**columns))
        except sa.exc.IntegrityError as exc:
            raise integrity_problem(obj, self.namespace, exc) from None
        self.check_rules(obj, ids, batch)
        updated = {r["id"]: r for r in self.read(obj, ids)}
        self.emit(
            obj,
            [
                ("updated", before["id"], before, updated[before["id"]], changed)
                for before, _, changed in changed_records
            ],
        )
        return [updated.get(r["id"], r) for r in current]

    def upsert(self, object_name: str, match_field: str, values: Mapping[str, Any]) -> tuple[Record, bool]:
        obj = object_named(self.state, object_name)
        fld = obj.field_named(match_field)
        if fld is None or not fld.unique:
            unique = ", ".join(f.api_name for f in obj.fields if f.unique) or "none"
            raise TesseraError.single(
                "UPSERT_FIELD_NOT_UNIQUE",
                f"Upsert matches on a unique field of '{obj.api_name}' ({unique}), not '{match_field}'.",
                ("on",),
            )
        if values.get(match_field) is None:
            raise TesseraError.single(
                "FIELD_REQUIRED", f"'{match_field}' is required to find the record to update.", (match_field,)
            )
        typed, problems = self.coerce(obj, {match_field: values[match_field]})
        if problems:
            raise TesseraError(problems)
        table = self.tables.of(obj)
        row = (
            self.conn.execute(sa.select(table).where(table.c[match_field] == typed[match_field]))
            .mappings()
            .first()
        )
        if row is None:
            return self._create(obj, [values], batch=False)[0], True
        existing = record_from_row(obj, row)
        if existing["deleted_at"] is not None:
            raise TesseraError.single(
                "DUPLICATE_VALUE",
                f"The record with this '{match_field}' is in the recycle bin: restore it first.",
                (match_field,),
            )
        return self._update(obj, [existing], values, batch=False)[0], False

    # -- delete, restore, destroy --------------------------------------------------------
    def delete(self, object_name: str, record_id: uuid.UUID) -> Record:
        obj = object_named(self.state, object_name)
        before = self.live_record(obj, record_id)
        table = self.tables.of(obj)
        now = self.clock()
        self.conn.execute(
            sa.update(table)
            .where(table.c.id == record_id)
            .values(deleted_at=now, updated_at=now, updated_by=self.actor)
        )
        after = self.read(obj, [record_id])[0]
        self.emit(obj, [("deleted", record_id, before, after, ["deleted_at"])])
        return after

    def restore(self, object_name: str, record_id: uuid.UUID) -> Record:
        obj = object_named(self.state, object_name)
        before = self.any_record(obj, record_id)
        if before["deleted_at"] is None:
            raise TesseraError.single(
                "RECORD_NOT_DELETED", f"This {obj.label_singular} is not in the recycle bin.", ("id",)
            )
        table = self.tables.of(obj)
        self.conn.execute(
            sa.update(table)
            .where(table.c.id == record_id)
            .values(deleted_at=None, updated_at=self.clock(), updated_by=self.actor)
        )
        after = self.read(obj, [record_id])[0]
        self.emit(obj, [("restored", record_id, before, after, ["deleted_at"])])
        return after

    def destroy(self, object_name: str, record_id: uuid.UUID) -> uuid.UUID:
        obj = object_named(self.state, object_name)
        before = self.any_record(obj, record_id)
        table = self.tables.of(obj)
        try:
            with self.conn.begin_nested():
                self.conn.execute(sa.delete(table).where(table.c.id == record_id))
        except sa.exc.IntegrityError:
            holders = [
                f"{r.source_object.api_name}.{r.source_field.api_name}"
                for r in self.state.relations_to(obj.id)
                if r.source_field.options.get("on_delete") == "restrict"
            ]
            raise TesseraError.single(
                "RECORD_IN_USE",
                f"This {obj.label_singular} is still linked from {', '.join(holders) or 'other records'} "
                "(which refuse to lose the link): change or delete those records first.",
                ("id",),
            ) from None
        self.emit(obj, [("destroyed", record_id, before, None, None)])
        return record_id

    # -- reading inside the transaction --------------------------------------------------
    def read(self, obj: ObjectDef, ids: Sequence[uuid.UUID]) -> list[Record]:
        table = self.tables.of(obj)
        rows = self.conn.execute(sa.select(table).where(table.c.id.in_(list(ids)))).mappings()
        by_id = {row["id"]: record_from_row(obj, row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def any_record(self, obj: ObjectDef, record_id: uuid.UUID) -> Record:
        found = self.read(obj, [record_id])
        if not found:
            raise NotFound.single(
                "RECORD_NOT_FOUND", f"There is no {obj.label_singular} with id {record_id}.", ("id",)
            )
        return found[0]

    def live_record(self, obj: ObjectDef, record_id: uuid.UUID) -> Record:
        record = self.any_record(obj, record_id)
        if record["deleted_at"] is not None:
            raise NotFound.single(
                "RECORD_NOT_FOUND",
                f"The {obj.label_singular} {record_id} is in the recycle bin: restore it first.",
                ("id",),
            )
        return record

    # -- checks --------------------------------------------------------------------------
    def coerce(self, obj: ObjectDef, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
        problems: list[Problem] = []
        typed: dict[str, Any] = {}
        for name, value in values.items():
            fld = obj.field_named(name)
            if name in WRITABLE_SYSTEM_FIELDS:
                try:
                    typed[name] = None if value is None else uuid.UUID(str(value))
                except ValueError:
                    problems.append(Problem("INVALID_ID", f"'{name}' takes a user id (a UUID).", (name,)))
                continue
            if fld is None:
                code, message = (
                    ("FIELD_READ_ONLY", f"'{name}' is a system field set by Tessera.")
                    if name in SYSTEM_FIELDS
                    else ("UNKNOWN_FIELD", f"'{obj.api_name}' has no field '{name}'.")
                )
                problems.append(Problem(code, message, (name,)))
                continue
            ftype = field_type(fld.type)
            if ftype.generated:
                problems.append(Problem("FIELD_READ_ONLY", f"'{name}' is numbered by Tessera.", (name,)))
                continue
            try:
                typed[name] = ftype.coerce(fld, value)
            except FieldValueError as exc:
                problems.append(Problem(exc.code, exc.message, (name, *exc.path)))
        return typed, problems

    def link_problems(self, obj: ObjectDef, typed_list: list[dict[str, Any]], batch: bool) -> list[Problem]:
        """Lookups must point at live records: one query per lookup field for the batch."""
        problems: list[Problem] = []
        for fld in obj.fields:
            if fld.type != "lookup":
                continue
            wanted = {t[fld.api_name] for t in typed_list if t.get(fld.api_name) is not None}
            if not wanted:
                continue
            target = self.state.object_by_id(uuid.UUID(str(fld.options["target_object_id"])))
            assert target is not None
            target_table = self.tables.of(target)
            live = set(
                self.conn.execute(
                    sa.select(target_table.c.id).where(
                        target_table.c.id.in_(list(wanted)), target_table.c.deleted_at.is_(None)
                    )
                ).scalars()
            )
            for i, typed in enumerate(typed_list):
                value = typed.get(fld.api_name)
                if value is not None and value not in live:
                    problems.append(
                        Problem(
                            "LOOKUP_TARGET_NOT_FOUND",
                            f"There is no '{target.api_name}' record with id {value}.",
                            ((i,) if batch else ()) + (fld.api_name,),
                        )
                    )
        return problems

    def unique_problems(
        self,
        obj: ObjectDef,
        table: sa.Table,
        typed_list: list[dict[str, Any]],
        batch: bool,
        exclude: list[uuid.UUID | None],
    ) -> list[Problem]:
        """Unique values: not twice in the batch, not on another record (one query per
        unique field). The database's unique index stays the last word (concurrency)."""
        problems: list[Problem] = []
        for fld in obj.fields:
            if not fld.unique:
                continue
            column = table.c[field_type(fld.type).column_names(fld)[0]]
            first_column = field_type(fld.type).column_names(fld)[0]
            stored = [
                field_type(fld.type).to_columns(fld, t[fld.api_name])[first_column]
                if t.get(fld.api_name) is not None
                else None
                for t in typed_list
            ]
            wanted = {v for v in stored if v is not None}
            if not wanted:
                continue
            holders: dict[Any, tuple[uuid.UUID, Any]] = {}
            for row in self.conn.execute(
                sa.select(column, table.c.id, table.c.deleted_at).where(column.in_(list(wanted)))
            ):
                holders[row[0]] = (row[1], row[2])
            seen: dict[Any, int] = {}
            for i, value in enumerate(stored):
                if value is None:
                    continue
                at = ((i,) if batch else ()) + (fld.api_name,)
                holder = holders.get(value)
                if holder is not None and holder[0] != exclude[i]:
                    in_bin = " (a record in the recycle bin)" if holder[1] is not None else ""
                    problems.append(
                        Problem(
                            "DUPLICATE_VALUE",
                            f"Another record{in_bin} already has this '{fld.api_name}'; it must be unique.",
                            at,
                        )
                    )
                elif value in seen:
                    problems.append(
                        Problem(
                            "DUPLICATE_VALUE",
                            f"This '{fld.api_name}' is given twice in the batch (also at {seen[value]}); "
                            "it must be unique.",
                            at,
                        )
                    )
                else:
                    seen[value] = i
        return problems

    def check_rules(self, obj: ObjectDef, ids: list[uuid.UUID], batch: bool) -> None:
        """The object's active validation rules over the rows just written (still in the
        transaction): one query per rule, compiled by the one filter compiler."""
        rules = [rule for rule in obj.validation_rules if rule.active]
        if not rules or not ids:
            return
        table = self.tables.of(obj)
        positions = {record_id: i for i, record_id in enumerate(ids)}
        problems: list[Problem] = []
        for rule in rules:
            condition = compile_filter(
                rule.error_when,
                obj,
                table,
                self.tables,
                path=("validation_rules", rule.name),
                now=self.clock(),
                time_zone=self.time_zone,
            )
            failing = self.conn.execute(sa.select(table.c.id).where(table.c.id.in_(ids), condition)).scalars()
            for record_id in failing:
                at: Path = ((positions[record_id],) if batch else ()) + ((rule.field,) if rule.field else ())
                problems.append(Problem("VALIDATION_RULE_FAILED", rule.message, at, {"rule": rule.name}))
        if problems:
            raise TesseraError(sorted(problems, key=lambda p: [str(part) for part in p.path]))

    def next_number(self, fld: FieldDef) -> int:
        """The next number of an auto-number field. The row lock taken by this UPDATE (the
        write lock on SQLite) makes concurrent inserts queue, so no number is given twice."""
        value = self.conn.execute(
            sa.update(auto_number_sequences)
            .where(
                auto_number_sequences.c.workspace_id == self.workspace.id,
                auto_number_sequences.c.field_id == fld.id,
            )
            .values(last_value=auto_number_sequences.c.last_value + 1)
            .returning(auto_number_sequences.c.last_value)
        ).scalar_one()
        return int(value)

    # -- events --------------------------------------------------------------------------
    def emit(
        self,
        obj: ObjectDef,
        events: list[tuple[str, uuid.UUID, Record | None, Record | None, list[str] | None]],
    ) -> None:
        """Outbox rows, in this transaction: a failed write leaves none."""
        now = self.clock()
        self.conn.execute(
            sa.insert(record_events),
            [
                {
                    "id": uuid.uuid4(),
                    "workspace_id": self.workspace.id,
                    "object_id": obj.id,
                    "object_api_name": obj.api_name,
                    "record_id": record_id,
                    "kind": kind,
                    "before": record_json(obj, before) if before is not None else None,
                    "after": record_json(obj, after) if after is not None else None,
                    "changed_fields": changed,
                    "actor": self.actor,
                    "created_at": now,
                    "dispatched_at": None,
                }
                for kind, record_id, before, after, changed in events
            ],
        )


def record_json(obj: ObjectDef, record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as JSON (events, exports): each field by its type's ``to_json``."""
    out: dict[str, Any] = {}
    for name in SYSTEM_FIELDS:
        value = record.get(name)
        out[name] = (
            value.isoformat() if isinstance(value, dt.datetime) else None if value is None else str(value)
        )
    for fld in obj.fields:
        out[fld.api_name] = field_type(fld.type).to_json(fld, record.get(fld.api_name))
    return out


def duplicate_problem(fld: FieldDef) -> Problem:
    return Problem(
        "DUPLICATE_VALUE",
        f"Another record already has this '{fld.api_name}'; it must be unique.",
        (fld.api_name,),
    )


def integrity_problem(obj: ObjectDef, namespace: Namespace, exc: sa.exc.IntegrityError) -> TesseraError:
    """A clear error for a constraint the database enforced (e.g. a concurrent insert of
    the same unique value)."""
    text = str(exc.orig)
    for fld in obj.fields:
        if namespace.constraint_name("uq", fld.id) in text or (
            fld.unique and f".{fld.api_name}" in text and "UNIQUE" in text.upper()
        ):
            return TesseraError([duplicate_problem(fld)])
    return TesseraError.single(
        "CONSTRAINT_VIOLATION", "The record breaks a rule of the database; nothing was saved."
    )


def record_from_row(obj: ObjectDef, row: Mapping[str, Any] | sa.RowMapping) -> Record:
    row = dict(row)
    record: Record = {name: row.get(name) for name in SYSTEM_FIELDS}
    for fld in obj.fields:
        record[fld.api_name] = field_type(fld.type).from_columns(fld, row)
    return record
