"""The record service: the one path through which records are written.

This first version creates and reads records with every field type's coercion,
defaults, required and unique checks, lookup checks and auto-numbering. The Record API
issue extends it (updates, deletes, validation rules, permissions, outbox events).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tessera.metadata.fields import FieldValueError, field_type
from tessera.metadata.fields.auto_number import AutoNumberType
from tessera.metadata.model import SYSTEM_FIELDS, FieldDef, MetadataState, ObjectDef
from tessera.metadata.storage import ColumnContext, Namespace, build_table
from tessera.metadata.store import load_state
from tessera.platform.database import write_transaction
from tessera.platform.errors import NotFound, Problem, TesseraError
from tessera.platform.tables import auto_number_sequences
from tessera.platform.workspaces import Workspace, get_workspace

Record = dict[str, Any]


class RecordService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _context(
        self, conn: Connection, workspace_slug: str, object_api_name: str
    ) -> tuple[Workspace, MetadataState, ObjectDef, sa.Table]:
        workspace = get_workspace(conn, workspace_slug)
        state = load_state(conn, workspace)
        obj = state.object_named(object_api_name)
        if obj is None:
            raise NotFound.single("UNKNOWN_OBJECT", f"There is no object '{object_api_name}'.", ("object",))
        table = build_table(obj, ColumnContext(workspace.namespace(conn.dialect.name), state))
        return workspace, state, obj, table

    def create(
        self,
        workspace_slug: str,
        object_api_name: str,
        values: Mapping[str, Any],
        *,
        actor: uuid.UUID | None = None,
    ) -> Record:
        """Create a record; raises :class:`TesseraError` (nothing written) on bad input.
        Paths are relative to ``values``."""
        with write_transaction(self.engine) as conn:
            workspace, state, obj, table = self._context(conn, workspace_slug, object_api_name)
            typed = self.coerce_values(obj, values)
            problems: list[Problem] = []
            for fld in obj.fields:
                ftype = field_type(fld.type)
                if fld.api_name not in values and not ftype.generated:
                    typed[fld.api_name] = ftype.default_value(fld)
                if fld.required and not ftype.generated and typed.get(fld.api_name) is None:
                    problems.append(
                        Problem("FIELD_REQUIRED", f"'{fld.api_name}' is required.", (fld.api_name,))
                    )
            problems += self.link_problems(conn, workspace, state, obj, typed)
            problems += self.unique_problems(conn, obj, table, typed)
            if problems:
                raise TesseraError(problems)
            for fld in obj.fields:
                ftype = field_type(fld.type)
                if isinstance(ftype, AutoNumberType):
                    typed[fld.api_name] = ftype.format(fld, next_number(conn, workspace, fld))
            now = dt.datetime.now(dt.UTC)
            row: dict[str, Any] = {
                "id": uuid.uuid4(),
                "created_at": now,
                "updated_at": now,
                "created_by": actor,
                "updated_by": actor,
                "owner": actor,
            }
            for fld in obj.fields:
                row.update(field_type(fld.type).to_columns(fld, typed.get(fld.api_name)))
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(table).values(row))
            except sa.exc.IntegrityError as exc:
                raise integrity_problem(obj, workspace.namespace(conn.dialect.name), exc) from None
            return record_from_row(obj, row)

    def get(self, workspace_slug: str, object_api_name: str, record_id: uuid.UUID) -> Record | None:
        with self.engine.connect() as conn:
            _, _, obj, table = self._context(conn, workspace_slug, object_api_name)
            row = conn.execute(sa.select(table).where(table.c.id == record_id)).mappings().first()
            return None if row is None else record_from_row(obj, dict(row))

    @staticmethod
    def coerce_values(obj: ObjectDef, values: Mapping[str, Any]) -> dict[str, Any]:
        problems: list[Problem] = []
        typed: dict[str, Any] = {}
        for name, value in values.items():
            fld = obj.field_named(name)
            if fld is None:
                code, message = (
                    ("FIELD_READ_ONLY", f"'{name}' is a system field set by Tessera.")
                    if name in SYSTEM_FIELDS
                    else ("UNKNOWN_FIELD", f"'{obj.api_name}' has no field '{name}'.")
                )
                problems.append(Problem(code, message, (name,)))
                continue
            try:
                typed[name] = field_type(fld.type).coerce(fld, value)
            except FieldValueError as exc:
                problems.append(Problem(exc.code, exc.message, (name, *exc.path)))
        if problems:
            raise TesseraError(problems)
        return typed

    def link_problems(
        self,
        conn: Connection,
        workspace: Workspace,
        state: MetadataState,
        obj: ObjectDef,
        typed: Mapping[str, Any],
    ) -> list[Problem]:
        problems = []
        for fld in obj.fields:
            value = typed.get(fld.api_name)
            if fld.type != "lookup" or value is None:
                continue
            target = state.object_by_id(uuid.UUID(str(fld.options["target_object_id"])))
            assert target is not None
            target_table = build_table(target, ColumnContext(workspace.namespace(conn.dialect.name), state))
            found = conn.execute(
                sa.select(target_table.c.id).where(
                    target_table.c.id == value, target_table.c.deleted_at.is_(None)
                )
            ).first()
            if found is None:
                problems.append(
                    Problem(
                        "LOOKUP_TARGET_NOT_FOUND",
                        f"There is no '{target.api_name}' record with id {value}.",
                        (fld.api_name,),
                    )
                )
        return problems

    def unique_problems(
        self, conn: Connection, obj: ObjectDef, table: sa.Table, typed: Mapping[str, Any]
    ) -> list[Problem]:
        problems = []
        for fld in obj.fields:
            value = typed.get(fld.api_name)
            if not fld.unique or value is None:
                continue
            column = table.c[fld.api_name]
            if conn.execute(sa.select(table.c.id).where(column == value)).first() is not None:
                problems.append(duplicate_problem(fld))
        return problems


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


def next_number(conn: Connection, workspace: Workspace, fld: FieldDef) -> int:
    """The next number of an auto-number field. The row lock taken by this UPDATE (the
    write lock on SQLite) makes concurrent inserts queue, so no number is given twice."""
    value = conn.execute(
        sa.update(auto_number_sequences)
        .where(
            auto_number_sequences.c.workspace_id == workspace.id, auto_number_sequences.c.field_id == fld.id
        )
        .values(last_value=auto_number_sequences.c.last_value + 1)
        .returning(auto_number_sequences.c.last_value)
    ).scalar_one()
    return int(value)


def record_from_row(obj: ObjectDef, row: Mapping[str, Any]) -> Record:
    record: Record = {name: row.get(name) for name in SYSTEM_FIELDS}
    for fld in obj.fields:
        record[fld.api_name] = field_type(fld.type).from_columns(fld, row)
    return record
