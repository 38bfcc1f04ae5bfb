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

Each operation of a writer runs in a savepoint, so one refused operation leaves nothing
behind even when the caller catches the error and carries on.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tessera.metadata.changes import find_object
from tessera.metadata.fields import FieldValueError, field_type
from tessera.metadata.fields.auto_number import AutoNumberType
from tessera.metadata.model import SYSTEM_FIELDS, FieldDef, MetadataState, ObjectDef
from tessera.metadata.storage import Namespace, Tables
from tessera.metadata.store import committed_state, committed_tables
from tessera.platform.database import write_transaction
from tessera.platform.errors import NotFound, Path, Problem, TesseraError
from tessera.platform.filtering import compile_filter
from tessera.platform.permissions import Access, filter_problems
from tessera.platform.roles import access_of
from tessera.platform.tables import auto_number_sequences, record_events, record_history
from tessera.platform.workspaces import Workspace, get_workspace

Record = dict[str, Any]
Clock = Callable[[], dt.datetime]
#: system fields a caller may set (the rest are Tessera's)
WRITABLE_SYSTEM_FIELDS = frozenset({"owner"})


class RecordService:
    """The one write path of records. Each write checks the actor's permissions: those of
    the service's bound :class:`Access` (:meth:`acting_as`), else those of the ``actor``
    (a user or an API key, read in the write's transaction; no actor: Tessera's own work)."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock | None = None,
        time_zone: str = "UTC",
        depth: int = 0,
        access: Access | None = None,
    ) -> None:
        self.engine = engine
        self.access = access
        #: how deep in a chain of workflows these writes are (stamped on their events)
        self.depth = depth
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        #: the zone of relative dates in filters (updateMany, validation rules)
        self.time_zone = time_zone

    def acting_as(self, access: Access) -> RecordService:
        """This service with the permissions of ``access`` (a request's caller)."""
        bound = copy.copy(self)
        bound.access = access
        return bound

    def access_in(self, conn: Connection, workspace: Workspace, actor: uuid.UUID | None) -> Access:
        return self.access or access_of(conn, workspace.id, actor)

    @contextmanager
    def writer(self, workspace_slug: str, *, actor: uuid.UUID | None = None) -> Iterator[RecordWriter]:
        """One transaction (and one read of the data model) for several writes: all are
        kept, or none when an exception leaves the block."""
        with write_transaction(self.engine) as conn:
            workspace = get_workspace(conn, workspace_slug)
            state = committed_state(conn, workspace)
            access = self.access_in(conn, workspace, actor)
            yield RecordWriter(conn, workspace, state, self.clock, actor, self.time_zone, self.depth, access)

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

    def find(
        self,
        workspace_slug: str,
        object_name: str,
        filter_doc: Mapping[str, Any] | None,
        *,
        limit: int | None = None,
        actor: uuid.UUID | None = None,
    ) -> list[Record]:
        """The live records a filter matches that the actor may read, oldest first (one statement)."""
        with self.engine.connect() as conn:
            obj, table, condition = self._matching(conn, workspace_slug, object_name, filter_doc, actor)
            query = sa.select(table).where(table.c.deleted_at.is_(None), condition)
            rows = conn.execute(query.order_by(table.c.created_at, table.c.id).limit(limit)).mappings()
            return [record_from_row(obj, row) for row in rows]

    def ids_matching(
        self,
        workspace_slug: str,
        object_name: str,
        filter_doc: Mapping[str, Any] | None,
        *,
        actor: uuid.UUID | None = None,
    ) -> list[uuid.UUID]:
        """The ids of the live records a filter matches that the actor may read, oldest first."""
        with self.engine.connect() as conn:
            _, table, condition = self._matching(conn, workspace_slug, object_name, filter_doc, actor)
            query = sa.select(table.c.id).where(table.c.deleted_at.is_(None), condition)
            return list(conn.execute(query.order_by(table.c.created_at, table.c.id)).scalars())

    def _matching(
        self,
        conn: Connection,
        workspace_slug: str,
        object_name: str,
        filter_doc: Mapping[str, Any] | None,
        actor: uuid.UUID | None,
    ) -> tuple[ObjectDef, sa.Table, sa.ColumnElement[bool]]:
        workspace = get_workspace(conn, workspace_slug)
        tables = committed_tables(conn, workspace)
        obj = find_object(tables.state, object_name, ("object",))
        access = self.access_in(conn, workspace, actor)
        access.require(obj.api_name, "read", ("object",))
        table = tables.of(obj)
        problems = filter_problems(access, tables.state, obj, filter_doc)
        if problems:
            raise TesseraError(problems)
        condition = compile_filter(
            filter_doc,
            obj,
            table,
            tables,
            path=("filter",),
            now=self.clock(),
            time_zone=self.time_zone,
            reach=access.reach,
        )
        return obj, table, sa.and_(condition, *access.reach(obj, table))

    def get(
        self,
        workspace_slug: str,
        object_name: str,
        record_id: uuid.UUID,
        *,
        include_deleted: bool = False,
        actor: uuid.UUID | None = None,
    ) -> Record | None:
        """The record, or ``None`` (none, or one the actor may not read)."""
        with self.engine.connect() as conn:
            workspace = get_workspace(conn, workspace_slug)
            tables = committed_tables(conn, workspace)
            obj = find_object(tables.state, object_name, ("object",))
            access = self.access_in(conn, workspace, actor)
            access.require(obj.api_name, "read", ("object",))
            table = tables.of(obj)
            query = sa.select(table).where(table.c.id == record_id)
            query = query.where(*access.reach(obj, table))
            if not include_deleted:
                query = query.where(table.c.deleted_at.is_(None))
            row = conn.execute(query).mappings().first()
            return None if row is None else record_from_row(obj, row)


@dataclass
class DestroyEffects:
    """The records a destroy reaches through lookups (see :meth:`RecordWriter.destroy`)."""

    destroyed: list[tuple[ObjectDef, list[Record]]] = field(default_factory=list)
    unlinked: list[tuple[ObjectDef, FieldDef, list[Record]]] = field(default_factory=list)
    #: descriptions of the restrict lookups that hold it, and those lookups
    blocking: list[str] = field(default_factory=list)
    blocking_fields: list[str] = field(default_factory=list)
    gone: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)


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
        depth: int = 0,
        access: Access | None = None,
    ) -> None:
        self.conn = conn
        #: what the actor may do; ``None``: everything (Tessera's own work)
        self.access = access or access_of(conn, workspace.id, actor)
        self.time_zone = time_zone
        self.depth = depth
        self.workspace = workspace
        self.state = state
        self.clock = clock
        self.actor = actor
        self.namespace: Namespace = workspace.namespace(conn.dialect.name)
        self.tables = Tables(self.namespace, state)
        #: validation rules compiled once per unit of work
        self.rule_conditions: dict[uuid.UUID, sa.ColumnElement[bool]] = {}

    @contextmanager
    def operation(self) -> Iterator[None]:
        """One operation of the unit of work, in a savepoint: when it is refused, nothing of
        it stays, even if the caller catches the error and goes on with other writes."""
        with self.conn.begin_nested():
            yield

    # -- create --------------------------------------------------------------------------
    def create(self, object_name: str, values: Mapping[str, Any]) -> Record:
        obj = find_object(self.state, object_name, ("object",))
        self.access.require(obj.api_name, "create")
        with self.operation():
            return self._create(obj, [values], batch=False)[0]

    def create_many(self, object_name: str, values_list: Sequence[Mapping[str, Any]]) -> list[Record]:
        obj = find_object(self.state, object_name, ("object",))
        if not isinstance(values_list, Sequence) or isinstance(values_list, str | bytes):
            raise TesseraError.single("INVALID_INPUT", "create_many takes a list of records' values.")
        self.access.require(obj.api_name, "create")
        if not values_list:
            return []
        with self.operation():
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
            if typed.get("owner", 0) is None:
                del typed["owner"]  # no owner given: the actor owns it
            found += self.permission_problems(obj, typed)
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
        for fld in obj.fields:
            ftype = field_type(fld.type)
            if isinstance(ftype, AutoNumberType):
                numbers = self.next_numbers(fld, len(typed_list))
                for typed, number in zip(typed_list, numbers, strict=True):
                    typed[fld.api_name] = ftype.format(fld, number)
        rows: list[dict[str, Any]] = []
        for typed in typed_list:
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
        # Inside the operation's savepoint, which the error rolls back (on PostgreSQL the
        # transaction is usable again).
        try:
            self.conn.execute(sa.insert(table), rows)
        except sa.exc.IntegrityError as exc:
            raise integrity_problem(obj, self.namespace, exc) from None

    # -- update --------------------------------------------------------------------------
    def update(self, object_name: str, record_id: uuid.UUID, values: Mapping[str, Any]) -> Record:
        obj = find_object(self.state, object_name, ("object",))
        self.access.require(obj.api_name, "update")
        with self.operation():
            current = self.live_record(obj, record_id)
            typed = self.update_values(obj, values)
            return self._update(obj, [current], typed)[0]

    def update_many(
        self, object_name: str, filter_doc: Mapping[str, Any] | None, values: Mapping[str, Any]
    ) -> list[Record]:
        obj = find_object(self.state, object_name, ("object",))
        self.access.require(obj.api_name, "update")
        table = self.tables.of(obj)
        problems = filter_problems(self.access, self.state, obj, filter_doc)
        condition: sa.ColumnElement[bool] | None = None
        try:
            condition = compile_filter(
                filter_doc,
                obj,
                table,
                self.tables,
                path=("filter",),
                now=self.clock(),
                time_zone=self.time_zone,
                reach=self.access.reach,
            )
        except TesseraError as exc:
            problems += exc.problems
        try:
            typed = self.update_values(obj, values)
        except TesseraError as exc:
            problems += exc.problems
        if problems or condition is None:
            raise TesseraError(problems)
        with self.operation():
            rows = self.conn.execute(
                sa.select(table)
                .where(table.c.deleted_at.is_(None), condition, *self.access.reach(obj, table))
                .order_by(table.c.created_at, table.c.id)
            ).mappings()
            current = [record_from_row(obj, row) for row in rows]
            if not current:
                return []
            return self._update(obj, current, typed)

    def update_values(self, obj: ObjectDef, values: Mapping[str, Any]) -> dict[str, Any]:
        """The typed values of an update: only the fields given; a required field cannot
        be emptied. Retired options pass here and are checked per record (a record keeps
        the retired option it holds)."""
        if not isinstance(values, Mapping):
            raise TesseraError.single("INVALID_INPUT", "A record's values are an object.")
        typed, problems = self.coerce(obj, values, allow_retired=True)
        problems += self.permission_problems(obj, typed)
        for name, value in typed.items():
            fld = obj.field_named(name)
            if fld is not None and fld.required and value is None:
                problems.append(
                    Problem("FIELD_REQUIRED", f"'{name}' is required; it cannot be emptied.", (name,))
                )
        if problems:
            raise TesseraError(problems)
        return typed

    def _update(self, obj: ObjectDef, current: list[Record], typed: dict[str, Any]) -> list[Record]:
        """Give ``typed`` to the ``current`` records (live, read in this transaction). Paths
        are relative to the values (an update_many has one set of values for all)."""
        table = self.tables.of(obj)
        changed_records: list[tuple[Record, list[str]]] = []
        for record in current:
            changed = [name for name, value in typed.items() if record.get(name) != value]
            if changed:
                changed_records.append((record, changed))
        if not changed_records:
            return current
        targets = [record for record, _ in changed_records]
        problems = self.retired_option_problems(obj, targets, typed)
        problems += self.link_problems(obj, [typed], batch=False)
        if len(targets) == 1:
            problems += self.unique_problems(obj, table, [typed], False, exclude=[targets[0]["id"]])
        else:
            problems += [
                Problem(
                    "DUPLICATE_VALUE",
                    f"'{fld.api_name}' is unique: one value cannot be given to {len(targets)} records.",
                    (fld.api_name,),
                )
                for fld in obj.fields
                if fld.unique and typed.get(fld.api_name) is not None
            ]
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
            self.conn.execute(sa.update(table).where(table.c.id.in_(ids)).values(**columns))
        except sa.exc.IntegrityError as exc:
            raise integrity_problem(obj, self.namespace, exc) from None
        self.check_rules(obj, ids, batch=False)
        updated = {r["id"]: r for r in self.read(obj, ids)}
        self.emit(
            obj,
            [
                ("updated", before["id"], before, updated[before["id"]], changed)
                for before, changed in changed_records
            ],
        )
        return [updated.get(r["id"], r) for r in current]

    def upsert(self, object_name: str, match_field: str, values: Mapping[str, Any]) -> tuple[Record, bool]:
        """Update the live record whose unique ``match_field`` equals the value given, or
        create one; ``(record, created)``. Two concurrent upserts of one new value both
        succeed: the one whose insert meets the other's row updates it."""
        obj = find_object(self.state, object_name, ("object",))
        fld = obj.field_named(match_field)
        if fld is None or not fld.unique:
            unique = ", ".join(f.api_name for f in obj.fields if f.unique) or "none"
            raise TesseraError.single(
                "UPSERT_FIELD_NOT_UNIQUE",
                f"Upsert matches on a unique field of '{obj.api_name}' ({unique}), not '{match_field}'.",
                ("on",),
            )
        if not isinstance(values, Mapping):
            raise TesseraError.single("INVALID_INPUT", "A record's values are an object.")
        if values.get(match_field) is None:
            raise TesseraError.single(
                "FIELD_REQUIRED", f"'{match_field}' is required to find the record to update.", (match_field,)
            )
        typed, problems = self.coerce(obj, {match_field: values[match_field]})
        if problems:
            raise TesseraError(problems)
        with self.operation():
            existing = self.holder_of(obj, fld, typed[match_field])
            if existing is None:
                self.access.require(obj.api_name, "create")
                try:
                    with self.operation():
                        return self._create(obj, [values], batch=False)[0], True
                except TesseraError as exc:
                    # Someone else created it since we looked: update theirs.
                    if not any(
                        p.code == "DUPLICATE_VALUE" and p.path == (match_field,) for p in exc.problems
                    ):
                        raise
                    existing = self.holder_of(obj, fld, typed[match_field])
                    if existing is None:
                        raise
            if existing["deleted_at"] is not None:
                raise TesseraError.single(
                    "DUPLICATE_VALUE",
                    f"The record with this '{match_field}' is in the recycle bin: restore it first.",
                    (match_field,),
                )
            self.access.require(obj.api_name, "update")
            if not self.access.reaches(obj.api_name, existing["owner"]):
                raise TesseraError.single(
                    "DUPLICATE_VALUE",
                    f"Another record, which you may not change, holds this '{match_field}'.",
                    (match_field,),
                )
            return self._update(obj, [existing], self.update_values(obj, values))[0], False

    def holder_of(self, obj: ObjectDef, fld: FieldDef, value: Any) -> Record | None:
        """The record (live or in the recycle bin) holding a unique field's value."""
        ftype = field_type(fld.type)
        column = ftype.column_names(fld)[0]
        table = self.tables.of(obj)
        stored = ftype.to_columns(fld, value)[column]
        row = self.conn.execute(sa.select(table).where(table.c[column] == stored)).mappings().first()
        return None if row is None else record_from_row(obj, row)

    # -- delete, restore, destroy --------------------------------------------------------
    def delete(self, object_name: str, record_id: uuid.UUID) -> Record:
        """To the recycle bin: ``deleted_at`` is set, reads no longer show it, lookups to
        it read as empty; :meth:`restore` brings it back."""
        obj = find_object(self.state, object_name, ("object",))
        self.access.require(obj.api_name, "delete")
        table = self.tables.of(obj)
        with self.operation():
            before = self.live_record(obj, record_id)
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
        obj = find_object(self.state, object_name, ("object",))
        self.access.require(obj.api_name, "restore")
        table = self.tables.of(obj)
        with self.operation():
            before = self.any_record(obj, record_id)
            if before["deleted_at"] is None:
                raise TesseraError.single(
                    "RECORD_NOT_DELETED", f"This {obj.label_singular} is not in the recycle bin.", ("id",)
                )
            self.conn.execute(
                sa.update(table)
                .where(table.c.id == record_id)
                .values(deleted_at=None, updated_at=self.clock(), updated_by=self.actor)
            )
            after = self.read(obj, [record_id])[0]
            self.emit(obj, [("restored", record_id, before, after, ["deleted_at"])])
            return after

    def destroy(self, object_name: str, record_id: uuid.UUID) -> uuid.UUID:
        """Delete for good (from the recycle bin or not). The records linking to it follow
        their lookup's ``on_delete``: ``restrict`` refuses (``RECORD_IN_USE``), ``set_null``
        empties the link (an ``updated`` event), ``cascade`` deletes them too (a
        ``destroyed`` event each). The database's foreign keys do the work; the records
        they touch are found first, one query per relation, for the error and the events."""
        obj = find_object(self.state, object_name, ("object",))
        self.access.require(obj.api_name, "destroy")
        with self.operation():
            before = self.any_record(obj, record_id)
            effects = self.destroy_effects(obj, before)
            if effects.blocking:
                raise TesseraError.single(
                    "RECORD_IN_USE",
                    f"This {obj.label_singular} is still linked from {'; '.join(effects.blocking)}, "
                    "whose lookup refuses to lose the link (on_delete: restrict): change or destroy "
                    "those records first.",
                    ("id",),
                    linked_from=effects.blocking_fields,
                )
            table = self.tables.of(obj)
            try:
                self.conn.execute(sa.delete(table).where(table.c.id == record_id))
            except sa.exc.IntegrityError:
                # Linked meanwhile (PostgreSQL, another transaction): the database refused.
                raise TesseraError.single(
                    "RECORD_IN_USE",
                    f"This {obj.label_singular} is still linked from records whose lookup refuses "
                    "to lose the link (on_delete: restrict): change or destroy those records first.",
                    ("id",),
                ) from None
            now = self.clock()
            for source, fld, records in effects.unlinked:
                ids = [r["id"] for r in records if (source.id, r["id"]) not in effects.gone]
                if not ids:
                    continue
                source_table = self.tables.of(source)
                self.conn.execute(
                    sa.update(source_table)
                    .where(source_table.c.id.in_(ids))
                    .values(updated_at=now, updated_by=self.actor)
                )
                after = {r["id"]: r for r in self.read(source, ids)}
                self.emit(
                    source,
                    [("updated", i, r, after[i], [fld.api_name]) for r in records if (i := r["id"]) in after],
                )
            for destroyed_obj, records in effects.destroyed:
                self.emit(destroyed_obj, [("destroyed", r["id"], r, None, None) for r in records])
            return record_id

    def destroy_effects(self, obj: ObjectDef, record: Record) -> DestroyEffects:
        """What destroying ``record`` does to the records linking to it, through cascades."""
        effects = DestroyEffects(destroyed=[(obj, [record])], gone={(obj.id, record["id"])})
        frontier: list[tuple[ObjectDef, list[uuid.UUID]]] = [(obj, [record["id"]])]
        while frontier:
            target, ids = frontier.pop()
            for relation in self.state.relations_to(target.id):
                source, fld = relation.source_object, relation.source_field
                table = self.tables.of(source)
                column = table.c[field_type(fld.type).column_names(fld)[0]]
                rows = self.conn.execute(sa.select(table).where(column.in_(ids))).mappings()
                linked = [
                    record_from_row(source, row) for row in rows if (source.id, row["id"]) not in effects.gone
                ]
                if not linked:
                    continue
                on_delete = fld.options.get("on_delete", "set_null")
                if on_delete == "restrict":
                    in_bin = sum(1 for r in linked if r["deleted_at"] is not None)
                    note = f", {in_bin} of them in the recycle bin" if in_bin else ""
                    label = source.label_plural if len(linked) > 1 else source.label_singular
                    effects.blocking.append(f"{len(linked)} {label} ({source.api_name}.{fld.api_name}{note})")
                    effects.blocking_fields.append(f"{source.api_name}.{fld.api_name}")
                elif on_delete == "cascade":
                    effects.destroyed.append((source, linked))
                    effects.gone.update((source.id, r["id"]) for r in linked)
                    frontier.append((source, [r["id"] for r in linked]))
                else:
                    effects.unlinked.append((source, fld, linked))
        return effects

    # -- reading inside the transaction --------------------------------------------------
    def read(self, obj: ObjectDef, ids: Sequence[uuid.UUID]) -> list[Record]:
        table = self.tables.of(obj)
        rows = self.conn.execute(sa.select(table).where(table.c.id.in_(list(ids)))).mappings()
        by_id = {row["id"]: record_from_row(obj, row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def any_record(self, obj: ObjectDef, record_id: uuid.UUID) -> Record:
        """The record (live or in the recycle bin), if the actor reaches it: one it does
        not reach is not found, as if it did not exist."""
        found = self.read(obj, [record_id])
        if not found or not self.access.reaches(obj.api_name, found[0]["owner"]):
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
    def permission_problems(self, obj: ObjectDef, typed: Mapping[str, Any]) -> list[Problem]:
        """The given fields the actor may not edit, and an owner it may not give records to."""
        if self.access.unrestricted:
            return []
        role = self.access.role
        problems = [
            Problem(
                "FORBIDDEN",
                f"Your role ({role.name}) may not change '{name}' of {obj.api_name} records.",
                (name,),
            )
            for name in typed
            if role.field_access(obj.api_name, name) != "edit"
        ]
        if "owner" in typed and not self.access.reaches(obj.api_name, typed["owner"]):
            reach = role.grant(obj.api_name).access
            problems.append(
                Problem(
                    "FORBIDDEN",
                    f"Your role ({role.name}) reaches the {obj.api_name} records of its {reach}: "
                    "it may not give one to another owner.",
                    ("owner",),
                )
            )
        return problems

    def coerce(
        self, obj: ObjectDef, values: Mapping[str, Any], *, allow_retired: bool = False
    ) -> tuple[dict[str, Any], list[Problem]]:
        """Values converted by their field types, and the problems found. With
        ``allow_retired``, retired select options pass (see :meth:`retired_option_problems`)."""
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
            if allow_retired and fld.type in SELECT_TYPES:
                fld = with_retired_options_allowed(fld)
            try:
                typed[name] = ftype.coerce(fld, value)
            except FieldValueError as exc:
                problems.append(Problem(exc.code, exc.message, (name, *exc.path)))
        return typed, problems

    def retired_option_problems(
        self, obj: ObjectDef, records: list[Record], typed: Mapping[str, Any]
    ) -> list[Problem]:
        """A retired option is refused as a new value; a record that holds it keeps it
        (also when the update gives it again, e.g. a form sending every value back)."""
        problems: list[Problem] = []
        for name, value in typed.items():
            fld = obj.field_named(name)
            if fld is None or fld.type not in SELECT_TYPES or value is None:
                continue
            retired = {c["value"] for c in fld.options["choices"] if c["retired"]}
            given = set(value) if isinstance(value, list) else {value}
            if not given & retired:
                continue
            for record in records:
                held = record.get(name)
                kept = set(held) if isinstance(held, list) else {held}
                refused = sorted((given & retired) - kept)
                if refused:
                    active = ", ".join(c["value"] for c in fld.options["choices"] if not c["retired"])
                    problems.append(
                        Problem(
                            "INVALID_OPTION",
                            f"'{refused[0]}' is a retired option of '{name}': records holding it keep "
                            f"it, but it cannot be chosen anew; choose one of: {active}.",
                            (name,),
                        )
                    )
                    break
        return problems

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
            live = (
                set(
                    self.conn.execute(
                        sa.select(target_table.c.id).where(
                            target_table.c.id.in_(list(wanted)),
                            target_table.c.deleted_at.is_(None),
                            *self.access.reach(target, target_table),
                        )
                    ).scalars()
                )
                if self.access.role.may(target.api_name, "read")
                else set()
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
        transaction): one query per rule, compiled by the one filter compiler. In a batch
        the path starts with the item's index; otherwise (one record, or an update_many's
        one set of values) a rule is reported once, ``details.records`` naming the records."""
        rules = [rule for rule in obj.validation_rules if rule.active]
        if not rules or not ids:
            return
        table = self.tables.of(obj)
        positions = {record_id: i for i, record_id in enumerate(ids)}
        problems: list[Problem] = []
        for rule in rules:
            condition = self.rule_conditions.get(rule.id)
            if condition is None:
                condition = compile_filter(
                    rule.error_when,
                    obj,
                    table,
                    self.tables,
                    path=("validation_rules", rule.name),
                    now=self.clock(),
                    time_zone=self.time_zone,
                )
                self.rule_conditions[rule.id] = condition
            failing = list(
                self.conn.execute(sa.select(table.c.id).where(table.c.id.in_(ids), condition)).scalars()
            )
            if not failing:
                continue
            at: Path = (rule.field,) if rule.field else ()
            if batch:
                problems += [
                    Problem("VALIDATION_RULE_FAILED", rule.message, (positions[i], *at), {"rule": rule.name})
                    for i in failing
                ]
            else:
                details: dict[str, Any] = {"rule": rule.name}
                if len(ids) > 1:
                    details["records"] = sorted(str(i) for i in failing)
                problems.append(Problem("VALIDATION_RULE_FAILED", rule.message, at, details))
        if problems:
            raise TesseraError(sorted(problems, key=lambda p: [str(part) for part in p.path]))

    def next_numbers(self, fld: FieldDef, count: int) -> range:
        """The next ``count`` numbers of an auto-number field, in one statement. The row
        lock taken by this UPDATE (the write lock on SQLite) makes concurrent inserts
        queue, so no number is given twice."""
        last = int(
            self.conn.execute(
                sa.update(auto_number_sequences)
                .where(
                    auto_number_sequences.c.workspace_id == self.workspace.id,
                    auto_number_sequences.c.field_id == fld.id,
                )
                .values(last_value=auto_number_sequences.c.last_value + count)
                .returning(auto_number_sequences.c.last_value)
            ).scalar_one()
        )
        return range(last - count + 1, last + 1)

    # -- events --------------------------------------------------------------------------
    def emit(
        self,
        obj: ObjectDef,
        events: list[tuple[str, uuid.UUID, Record | None, Record | None, list[str] | None]],
    ) -> None:
        """Outbox rows, in this transaction: a failed write leaves none."""
        now = self.clock()
        rows = [
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
                "depth": self.depth,
            }
            for kind, record_id, before, after, changed in events
        ]
        self.conn.execute(sa.insert(record_events), rows)
        self.record_history(obj, rows)

    def record_history(self, obj: ObjectDef, events: list[dict[str, Any]]) -> None:
        """Audit rows for the fields that track their history, in this transaction, from
        the values the events hold."""
        tracked = [fld for fld in obj.fields if fld.track_history]
        if not tracked:
            return
        rows = [
            {
                "id": uuid.uuid4(),
                "workspace_id": self.workspace.id,
                "object_id": obj.id,
                "object_api_name": obj.api_name,
                "record_id": event["record_id"],
                "field_id": fld.id,
                "field_api_name": fld.api_name,
                "kind": event["kind"],
                "old_value": (event["before"] or {}).get(fld.api_name),
                "new_value": (event["after"] or {}).get(fld.api_name),
                "actor": self.actor,
                "changed_at": event["created_at"],
            }
            for event in events
            for fld in tracked
            # moving to the recycle bin and back changes no value
            if (event["before"] or {}).get(fld.api_name) != (event["after"] or {}).get(fld.api_name)
        ]
        if rows:
            self.conn.execute(sa.insert(record_history), rows)


SELECT_TYPES = frozenset({"select", "multi_select"})


def with_retired_options_allowed(fld: FieldDef) -> FieldDef:
    """The select field with its retired options accepted (for an update, which checks
    them per record)."""
    choices = [{**c, "retired": False} for c in fld.options["choices"]]
    return fld.evolve(options={**fld.options, "choices": choices})


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
