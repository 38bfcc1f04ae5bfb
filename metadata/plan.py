"""Turn metadata changes into a DDL plan made of alembic operations.

A plan is computed against the live database (to count the data a change would touch)
but changes nothing; :func:`run_plan` executes it inside the caller's transaction, so the
metadata rows and the tables change together or not at all. PostgreSQL runs DDL in
transactions; so does SQLite, set up as in :mod:`tessera.platform.database`.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from tessera.metadata.diff import (
    Change,
    FieldCreated,
    FieldDeleted,
    FieldUpdated,
    ObjectCreated,
    ObjectDeleted,
    ObjectUpdated,
)
from tessera.metadata.fields import field_type
from tessera.metadata.fields.lookup import ON_DELETE_SQL
from tessera.metadata.model import FieldDef, MetadataState, ObjectDef
from tessera.metadata.storage import (
    ColumnContext,
    Namespace,
    field_columns,
    field_indexes,
    system_columns,
)
from tessera.platform.column_types import JSONValue
from tessera.platform.errors import Problem, TesseraError
from tessera.platform.tables import auto_number_sequences

Action = Callable[[Operations], None]
#: Where a field's input is, for error paths: (object, field) → path prefix.
Locate = Callable[[ObjectDef, FieldDef], tuple[Any, ...]]


def default_location(state: MetadataState) -> Locate:
    """``objects.<i>.fields.<j>``: the position in a metadata document."""

    def locate(obj: ObjectDef, fld: FieldDef) -> tuple[Any, ...]:
        i = next(n for n, o in enumerate(state.objects) if o.id == obj.id)
        j = next(n for n, f in enumerate(state.objects[i].fields) if f.id == fld.id)
        return ("objects", i, "fields", j)

    return locate


@dataclass
class PlanStep:
    """One step of a plan: what it does, in words, and the operations that do it."""

    description: str
    action: Action = field(repr=False)
    destructive: bool = False


@dataclass(frozen=True)
class DataLoss:
    """Data a change deletes: the records of an object, or the values of a field."""

    object: str
    field: str | None
    records: int

    def describe(self) -> str:
        if self.field is None:
            return f"{self.records} record(s) of '{self.object}'"
        return f"the '{self.field}' values of {self.records} '{self.object}' record(s)"


@dataclass
class Plan:
    changes: list[Change]
    steps: list[PlanStep]
    data_loss: list[DataLoss]


class Planner:
    """Builds the plan for ``before`` → ``after`` in one workspace's namespace."""

    def __init__(
        self,
        conn: Connection,
        namespace: Namespace,
        before: MetadataState,
        after: MetadataState,
        workspace_id: uuid.UUID,
        locate: Locate | None = None,
    ) -> None:
        self.workspace_id = workspace_id
        self.locate = locate or default_location(after)
        self.conn = conn
        self.ns = namespace
        self.before = before
        self.after = after
        self.dialect = conn.dialect.name
        self.quote = conn.dialect.identifier_preparer.quote
        self.steps: list[PlanStep] = []
        self.deferred: list[PlanStep] = []
        self.data_loss: list[DataLoss] = []
        self.problems: list[Problem] = []
        #: fields whose columns were moved to a temporary name during this plan
        self.current_columns: dict[uuid.UUID, list[str]] = {}
        self.parked: set[uuid.UUID] = set()

    # -- helpers ---------------------------------------------------------------------
    def ctx(self, state: MetadataState) -> ColumnContext:
        return ColumnContext(self.ns, state)

    def table_sql(self, obj: ObjectDef) -> str:
        name = self.quote(self.ns.table_name(obj.api_name))
        return f"{self.quote(self.ns.schema)}.{name}" if self.ns.schema else name

    def count(self, sql: str) -> int:
        return int(self.conn.exec_driver_sql(sql).scalar_one())

    def table_exists(self, obj: ObjectDef) -> bool:
        return sa.inspect(self.conn).has_table(self.ns.table_name(obj.api_name), schema=self.ns.schema)

    def add(self, description: str, action: Action, destructive: bool = False) -> None:
        self.steps.append(PlanStep(description, action, destructive))

    def current_object(self, obj: ObjectDef) -> ObjectDef:
        """``obj`` as the database knows it before the plan runs (its table's name)."""
        return self.before.object_by_id(obj.id) or obj

    def records_in(self, obj: ObjectDef) -> int:
        return self.count(f"SELECT count(*) FROM {self.table_sql(obj)}")

    def values_in(self, obj: ObjectDef, fld: FieldDef) -> int:
        column = self.quote(field_type(fld.type).column_names(fld)[0])
        return self.count(f"SELECT count(*) FROM {self.table_sql(obj)} WHERE {column} IS NOT NULL")

    # -- the plan --------------------------------------------------------------------
    def build(self, changes: list[Change]) -> Plan:
        for change in drops_in_dependency_order(changes, self.before):
            if isinstance(change, ObjectCreated):
                self.create_object(change.after)
            elif isinstance(change, ObjectDeleted):
                self.delete_object(change.before)
            elif isinstance(change, ObjectUpdated):
                self.update_object(change)
            elif isinstance(change, FieldCreated):
                self.create_field(change.obj, change.after)
            elif isinstance(change, FieldDeleted):
                self.delete_field(change.obj, change.before)
            elif isinstance(change, FieldUpdated):
                self.update_field(change)
        if self.problems:
            raise TesseraError(self.problems)
        return Plan(changes, [*self.steps, *self.deferred], self.data_loss)

    def create_object(self, obj: ObjectDef) -> None:
        ctx = self.ctx(self.after)
        new_ids = {o.id for o in self.after.objects if self.before.object_by_id(o.id) is None}
        inline: list[FieldDef] = []
        later: list[FieldDef] = []
        for fld in obj.fields:
            target = fld.options.get("target_object_id") if fld.type == "lookup" else None
            # PostgreSQL checks a foreign key's target exists: links between tables created
            # in the same change are added once all of them exist. SQLite does not check.
            if (
                target is not None
                and self.dialect != "sqlite"
                and str(target) != str(obj.id)
                and any(str(i) == str(target) for i in new_ids)
            ):
                later.append(fld)
            else:
                inline.append(fld)
        name, schema = self.ns.table_name(obj.api_name), self.ns.schema

        def create(ops: Operations) -> None:
            columns = system_columns()
            indexes: list[tuple[str, str, bool]] = []
            for fld in inline:
                cols = field_columns(fld, ctx)
                columns.extend(cols)
                indexes.extend(
                    (ix.name, cols[0].name, bool(ix.unique))
                    for ix in field_indexes(fld, ctx, cols)
                    if ix.name
                )
            ops.create_table(name, *columns, schema=schema)
            indexes.append((self.ns.owner_index_name(obj), "owner", False))
            for index_name, column, unique in indexes:
                ops.create_index(index_name, name, [column], unique=unique, schema=schema)

        self.add(f"Create table {self.ns.qualified_table_name(obj.api_name)}", create)
        for fld in obj.fields:
            if fld.type == "auto_number":
                self.add(
                    f"Start the numbering of '{obj.api_name}.{fld.api_name}'", self.start_sequence(fld, None)
                )
        for fld in later:
            self.deferred.append(
                PlanStep(
                    f"Add lookup column '{obj.api_name}.{fld.api_name}'",
                    self.add_columns_action(obj, fld, ctx),
                )
            )
            cols = field_columns(fld, ctx)
            for index in field_indexes(fld, ctx, cols):
                self.deferred.append(
                    PlanStep(
                        f"Create index {index.name} on {cols[0].name}",
                        create_index_action(str(index.name), name, cols[0].name, bool(index.unique), schema),
                    )
                )

    def delete_object(self, obj: ObjectDef) -> None:
        records = self.records_in(obj) if self.table_exists(obj) else 0
        if records:
            self.data_loss.append(DataLoss(obj.api_name, None, records))
        name, schema = self.ns.table_name(obj.api_name), self.ns.schema
        self.add(
            f"Drop table {self.ns.qualified_table_name(obj.api_name)} ({records} record(s))",
            lambda ops: ops.drop_table(name, schema=schema),
            destructive=records > 0,
        )

    def update_object(self, change: ObjectUpdated) -> None:
        old, new = change.before.api_name, change.after.api_name
        if old != new:
            old_name, new_name, schema = self.ns.table_name(old), self.ns.table_name(new), self.ns.schema
            self.add(
                f"Rename table {self.ns.qualified_table_name(old)} to {new_name}",
                lambda ops: ops.rename_table(old_name, new_name, schema=schema),
            )

    def add_columns_action(self, obj: ObjectDef, fld: FieldDef, ctx: ColumnContext) -> Action:
        table, schema = self.ns.table_name(obj.api_name), self.ns.schema
        needs_batch = self.dialect == "sqlite" and fld.type == "lookup"

        def add(ops: Operations) -> None:
            cols = field_columns(fld, ctx)
            if needs_batch:
                with ops.batch_alter_table(table, schema=schema, recreate="always") as batch:
                    for col in cols:
                        batch.add_column(col)
            else:
                for col in cols:
                    ops.add_column(table, col, schema=schema)

        return add

    def create_field(self, obj: ObjectDef, fld: FieldDef) -> None:
        ctx = self.ctx(self.after)
        ftype = field_type(fld.type)
        label = f"'{obj.api_name}.{fld.api_name}'"
        self.add(
            f"Add column(s) {', '.join(ftype.column_names(fld))} for {label}",
            self.add_columns_action(obj, fld, ctx),
        )
        table_obj = self.before.object_by_id(obj.id)
        if fld.default is not None and not ftype.is_dynamic_default(fld.default) and table_obj:
            values = ftype.to_columns(fld, ftype.coerce(fld, fld.default))
            table = sa.table(
                self.ns.table_name(obj.api_name),
                *[sa.column(c.name, c.type) for c in field_columns(fld, ctx)],
                schema=self.ns.schema,
            )
            self.add(
                f"Give existing records the default of {label}",
                lambda ops: ops.execute(sa.update(table).values(values)),
            )
        if fld.type == "auto_number":
            self.add(
                f"Number existing records and start the numbering of {label}",
                self.start_sequence(fld, obj if table_obj else None),
            )
        self.create_indexes(obj, fld, ctx)

    def create_indexes(self, obj: ObjectDef, fld: FieldDef, ctx: ColumnContext) -> None:
        table, schema = self.ns.table_name(obj.api_name), self.ns.schema
        cols = field_columns(fld, ctx)
        for index in field_indexes(fld, ctx, cols):
            name, unique = str(index.name), bool(index.unique)
            self.add(
                f"Create {'unique ' if unique else ''}index {name} on {cols[0].name}",
                create_index_action(name, table, cols[0].name, unique, schema),
            )

    def drop_indexes(self, obj: ObjectDef, fld: FieldDef, ctx: ColumnContext) -> None:
        table, schema = self.ns.table_name(obj.api_name), self.ns.schema
        for index in field_indexes(fld, ctx, field_columns(fld, ctx)):
            name = str(index.name)
            self.add(f"Drop index {name}", drop_index_action(name, table, schema))

    def start_sequence(self, fld: FieldDef, existing: ObjectDef | None) -> Action:
        """The counter row of an auto-number field; existing records are numbered in
        creation order and the counter continues after them."""
        start = int(fld.options["start"])
        padding, prefix = int(fld.options["padding"]), str(fld.options["prefix"])
        count_sql = None
        update_sql = None
        if existing is not None:
            table = self.table_sql(existing)
            column = self.quote(fld.api_name)
            if self.dialect == "sqlite":
                number = f"printf('%0{padding}d', numbered.n + {start - 1})"
            else:
                number = f"lpad((numbered.n + {start - 1})::text, {padding}, '0')"
            prefix_sql = "'" + prefix.replace("'", "''") + "'"
            update_sql = (
                f"UPDATE {table} SET {column} = {prefix_sql} || {number} FROM (SELECT id, "
                f"row_number() OVER (ORDER BY created_at, id) AS n FROM {table}) AS numbered "
                f"WHERE {table}.id = numbered.id"
            )
            count_sql = f"(SELECT count(*) FROM {table})"

        def start_counter(ops: Operations) -> None:
            if update_sql is not None:
                ops.execute(sa.text(update_sql))
            last: sa.ColumnElement[Any] = (
                sa.literal_column(f"{count_sql} + {start - 1}") if count_sql else sa.literal(start - 1)
            )
            ops.execute(
                sa.insert(auto_number_sequences).from_select(
                    ["workspace_id", "field_id", "last_value"],
                    sa.select(sa.literal(self.workspace_id, sa.Uuid), sa.literal(fld.id, sa.Uuid), last),
                )
            )

        return start_counter

    def delete_field(self, obj: ObjectDef, fld: FieldDef) -> None:
        ctx = self.ctx(self.before)
        values = self.values_in(obj, fld)
        if values:
            self.data_loss.append(DataLoss(obj.api_name, fld.api_name, values))
        table, schema = self.ns.table_name(obj.api_name), self.ns.schema
        names = field_type(fld.type).column_names(fld)
        if self.dialect == "sqlite":
            # SQLite refuses to drop an indexed column.
            self.drop_indexes(obj, fld, ctx)
        needs_batch = self.dialect == "sqlite" and fld.type == "lookup"

        def drop(ops: Operations) -> None:
            if needs_batch:
                with ops.batch_alter_table(table, schema=schema, recreate="always") as batch:
                    for name in names:
                        batch.drop_column(name)
            else:
                for name in names:
                    ops.drop_column(table, name, schema=schema)

        self.add(
            f"Drop column(s) {', '.join(names)} of '{obj.api_name}' ({values} value(s))",
            drop,
            destructive=values > 0,
        )

    def update_field(self, change: FieldUpdated) -> None:
        before, after, obj = change.before, change.after, change.obj
        label = f"'{obj.api_name}.{after.api_name}'"
        table, schema = self.ns.table_name(obj.api_name), self.ns.schema
        ftype = field_type(after.type)
        if before.type == "lookup" and after.type == "lookup":
            if before.options["target_object_id"] != after.options["target_object_id"]:
                self.problems.append(
                    Problem(
                        "UNSAFE_TYPE_CHANGE",
                        f"{label} cannot link to another object: its values are ids of "
                        "the current one. Add a new lookup field instead.",
                        (*self.locate(obj, after), "options", "target_object"),
                    )
                )
                return
        self.park_colliding_renames(obj)
        if before.api_name != after.api_name:
            current = self.current_columns.get(before.id) or field_type(before.type).column_names(before)
            for old_col, new_col in zip(current, ftype.column_names(after), strict=False):
                self.add(
                    f"Rename column {old_col} to {new_col}",
                    rename_column_action(table, old_col, new_col, schema),
                )
        if change.storage_changed:
            self.convert(obj, before, after, label)
        if before.unique != after.unique or change.type_changed:
            self.drop_indexes(obj, before.evolve(api_name=after.api_name), self.ctx(self.before))
            if after.unique:
                self.check_no_duplicates(obj, before, label)
            self.create_indexes(obj, after, self.ctx(self.after))
        if (
            before.type == after.type == "lookup"
            and before.options["on_delete"] != after.options["on_delete"]
        ):
            self.change_on_delete(obj, after)

    def park_colliding_renames(self, obj: ObjectDef) -> None:
        """Fields renamed to a name another field of the object still has (a swap) first
        move to a temporary column name, so that no rename meets an existing column."""
        old_obj = self.before.object_by_id(obj.id)
        if old_obj is None or obj.id in self.parked:
            return
        self.parked.add(obj.id)
        kept = [f for f in old_obj.fields if obj.field_by_id(f.id) is not None]
        columns = {c: f.id for f in kept for c in field_type(f.type).column_names(f)}
        table, schema = self.ns.table_name(obj.api_name), self.ns.schema
        for old in kept:
            new = obj.field_by_id(old.id)
            assert new is not None
            targets = field_type(new.type).column_names(new)
            if old.api_name == new.api_name or all(columns.get(c, old.id) == old.id for c in targets):
                continue
            parked = []
            for i, column in enumerate(field_type(old.type).column_names(old)):
                temporary = f"tmp_{old.id.hex[:16]}_{i}"
                self.add(
                    f"Rename column {column} to {temporary} (names are swapped)",
                    rename_column_action(table, column, temporary, schema),
                )
                parked.append(temporary)
            self.current_columns[old.id] = parked

    def convert(self, obj: ObjectDef, before: FieldDef, after: FieldDef, label: str) -> None:
        ftype = field_type(after.type)
        conversion = ftype.conversion_from(before, after)
        if conversion is None:
            if before.type != after.type:
                message = (
                    f"{label} cannot change from {before.type} to {after.type} without "
                    "losing data. Add a new field and copy the values you need."
                )
                path: tuple[str, ...] = ("type",)
            else:
                message = (
                    f"This change of {label}'s options would lose data (fewer digits, "
                    "a removed option…). Keep the existing settings or add a new field."
                )
                path = ("options",)
            self.problems.append(Problem("UNSAFE_TYPE_CHANGE", message, (*self.locate(obj, after), *path)))
            return
        column = after.api_name
        quoted = self.quote(column)
        # Data is checked now, before any step runs: under the column's current name.
        current = self.quote(field_type(before.type).column_names(before)[0])
        blocking = conversion.blocking_for(self.dialect)
        if blocking:
            blocked = self.count(
                f"SELECT count(*) FROM {self.table_sql(self.current_object(obj))} "
                f"WHERE {current} IS NOT NULL AND ({blocking.format(col=current)})"
            )
            if blocked:
                self.problems.append(
                    Problem(
                        "UNSAFE_TYPE_CHANGE",
                        f"{blocked} '{obj.api_name}' record(s) hold values of {label} that the "
                        "new settings cannot keep (too long, too large, or a removed option). "
                        "Fix those records or retire the option instead.",
                        (*self.locate(obj, after), "options" if before.type == after.type else "type"),
                        {"records": blocked},
                    )
                )
                return
        expression = conversion.expression_for(self.dialect)
        table, schema, table_sql = self.ns.table_name(obj.api_name), self.ns.schema, self.table_sql(obj)
        old_type = field_type(before.type).column_type(before)
        new_type = ftype.column_type(after)
        dialect = self.conn.dialect
        type_changes = self.dialect != "sqlite" and (
            old_type.compile(dialect=dialect) != new_type.compile(dialect=dialect)
            or (old_type is JSONValue) != (new_type is JSONValue)
        )
        if type_changes:
            new_sql_type = new_type.compile(dialect=dialect)
            using = (expression or f"CAST({{col}} AS {new_sql_type})").format(col=quoted)
            self.add(
                f"Change column {column} of '{obj.api_name}' to {new_sql_type}",
                lambda ops: ops.alter_column(
                    table, column, type_=new_type, postgresql_using=using, schema=schema
                ),
            )
        elif expression:
            sql = f"UPDATE {table_sql} SET {quoted} = {expression.format(col=quoted)}"
            self.add(f"Rewrite the values of {label}", lambda ops: ops.execute(sa.text(sql)))

    def check_no_duplicates(self, obj: ObjectDef, current: FieldDef, label: str) -> None:
        column = self.quote(field_type(current.type).column_names(current)[0])
        table = self.table_sql(self.current_object(obj))
        duplicated = self.count(
            f"SELECT count(*) FROM (SELECT {column} FROM {table} WHERE {column} IS NOT NULL "
            f"GROUP BY {column} HAVING count(*) > 1) AS dup"
        )
        if duplicated:
            self.problems.append(
                Problem(
                    "DUPLICATE_VALUES",
                    f"{label} cannot become unique: {duplicated} value(s) appear in more than one "
                    "record. Make them distinct first.",
                    (*self.locate(obj, current), "unique"),
                    {"values": duplicated},
                )
            )

    def change_on_delete(self, obj: ObjectDef, fld: FieldDef) -> None:
        table, schema = self.ns.table_name(obj.api_name), self.ns.schema
        target = self.after.object_by_id(uuid.UUID(str(fld.options["target_object_id"])))
        assert target is not None
        fk = self.ns.constraint_name("fk", fld.id)
        ondelete = ON_DELETE_SQL[fld.options["on_delete"]]
        target_table = self.ns.table_name(target.api_name)

        def rebuild(ops: Operations) -> None:
            if self.dialect == "sqlite":
                with ops.batch_alter_table(table, schema=schema, recreate="always") as batch:
                    batch.drop_constraint(fk, type_="foreignkey")
                    batch.create_foreign_key(fk, target_table, [fld.api_name], ["id"], ondelete=ondelete)
            else:
                ops.drop_constraint(fk, table, type_="foreignkey", schema=schema)
                ops.create_foreign_key(
                    fk,
                    table,
                    target_table,
                    [fld.api_name],
                    ["id"],
                    ondelete=ondelete,
                    source_schema=schema,
                    referent_schema=schema,
                )

        self.add(f"Make '{obj.api_name}.{fld.api_name}' {fld.options['on_delete']} on delete", rebuild)


def create_index_action(name: str, table: str, column: str, unique: bool, schema: str | None) -> Action:
    def create(ops: Operations) -> None:
        ops.create_index(name, table, [column], unique=unique, schema=schema)

    return create


def drop_index_action(name: str, table: str, schema: str | None) -> Action:
    def drop(ops: Operations) -> None:
        ops.drop_index(name, table_name=table, schema=schema)

    return drop


def rename_column_action(table: str, old: str, new: str, schema: str | None) -> Action:
    def rename(ops: Operations) -> None:
        ops.alter_column(table, old, new_column_name=new, schema=schema)

    return rename


def drops_in_dependency_order(changes: list[Change], before: MetadataState) -> list[Change]:
    """The changes with the objects deleted together ordered so that a table is dropped
    after the tables whose lookups point at it (PostgreSQL refuses the other order)."""
    deleted = [c for c in changes if isinstance(c, ObjectDeleted)]
    if len(deleted) < 2:
        return changes
    ids = {c.before.id for c in deleted}
    ordered: list[Change] = []
    waiting = list(deleted)
    while waiting:
        pending = {c.before.id for c in waiting}
        free = [
            c
            for c in waiting
            if not any(
                r.source_object.id in pending and r.source_object.id != c.before.id
                for r in before.relations_to(c.before.id)
            )
        ] or waiting[:1]  # a cycle of lookups: the database's own order
        ordered += free
        waiting = [c for c in waiting if c not in free]
    others = iter(ordered)
    return [next(others) if isinstance(c, ObjectDeleted) and c.before.id in ids else c for c in changes]


def plan_changes(
    conn: Connection,
    namespace: Namespace,
    before: MetadataState,
    after: MetadataState,
    changes: list[Change],
    workspace_id: uuid.UUID,
    locate: Locate | None = None,
) -> Plan:
    """The plan for ``changes``; raises :class:`TesseraError` for an unsafe change, with
    paths placed by ``locate`` (default: positions in a metadata document)."""
    return Planner(conn, namespace, before, after, workspace_id, locate).build(changes)


def run_plan(conn: Connection, plan: Plan) -> None:
    """Execute every step on ``conn`` (inside the caller's transaction)."""
    ops = Operations(MigrationContext.configure(conn))
    for step in plan.steps:
        step.action(ops)


def render_sql(plan: Plan, dialect_name: str) -> list[list[str]]:
    """The SQL of each step, rendered without a database (a preview). A step that cannot
    be rendered offline (SQLite's table rebuilds) is described in a comment."""
    rendered = []
    for step in plan.steps:
        buffer = io.StringIO()
        context = MigrationContext.configure(
            dialect_name=dialect_name,
            opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True},
        )
        try:
            step.action(Operations(context))
            statements = [s.strip() for s in buffer.getvalue().split(";\n") if s.strip()]
        except Exception:  # noqa: BLE001 - previews must never fail a dry run
            statements = [f"-- {step.description} (rebuilds the table; SQL depends on its current shape)"]
        rendered.append([s if s.endswith(";") or s.startswith("--") else s + ";" for s in statements])
    return rendered


def plan_summary(plan: Plan, dialect_name: str) -> list[dict[str, Any]]:
    return [
        {"description": step.description, "destructive": step.destructive, "sql": sql}
        for step, sql in zip(plan.steps, render_sql(plan, dialect_name), strict=True)
    ]
