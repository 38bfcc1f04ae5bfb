"""Where records live: one workspace's tables, their columns and index names.

PostgreSQL gives every workspace a schema of its own (``ws_<slug>``) holding one table per
object, named after the object. SQLite has no schemas, so a workspace's tables share the
database file and carry the workspace in their name: ``ws_<slug>__<object>``. Api names
cannot contain a double underscore, so these names never collide. Index and constraint
names are made from the field's stable id, so they survive renames and are unique in the
whole database (SQLite's index names are global).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from tessera.metadata.model import FieldDef, MetadataState, ObjectDef
from tessera.platform.column_types import UTCDateTime


@dataclass(frozen=True)
class Namespace:
    """The place of one workspace's record tables in one database."""

    workspace_slug: str
    dialect_name: str

    @property
    def schema(self) -> str | None:
        return f"ws_{self.workspace_slug}" if self.dialect_name == "postgresql" else None

    def table_name(self, object_api_name: str) -> str:
        if self.dialect_name == "postgresql":
            return object_api_name
        return f"ws_{self.workspace_slug}__{object_api_name}"

    def constraint_name(self, kind: str, field_id: uuid.UUID) -> str:
        """``uq_…``, ``ix_…`` or ``fk_…`` of a field, stable across renames. SQLite's index
        names are global to the file, and a field id may recur in several workspaces (one
        document applied to each), so there the workspace is part of the name."""
        if self.dialect_name == "sqlite":
            return f"{kind}_{self.workspace_slug}_{field_id.hex}"
        return f"{kind}_{field_id.hex}"

    def owner_index_name(self, obj: ObjectDef) -> str:
        """The index of a table's ``owner``: roles that reach only their own (or their
        team's) records read through it."""
        return self.constraint_name("ix_owner", obj.id)

    def qualified_table_name(self, object_api_name: str) -> str:
        name = self.table_name(object_api_name)
        return f"{self.schema}.{name}" if self.schema else name


def system_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.Uuid, nullable=True),
        sa.Column("updated_by", sa.Uuid, nullable=True),
        sa.Column("owner", sa.Uuid, nullable=True),
        sa.Column("deleted_at", UTCDateTime, nullable=True),
    ]


@dataclass(frozen=True)
class ColumnContext:
    """What a field type needs to know to describe its columns."""

    namespace: Namespace
    state: MetadataState

    def primary_key_of(self, object_id: uuid.UUID) -> str:
        """``schema.table.id`` of an object, for a foreign key."""
        target = self.state.object_by_id(object_id)
        if target is None:
            raise LookupError(f"no object with id {object_id}")
        return f"{self.namespace.qualified_table_name(target.api_name)}.id"


def field_columns(fld: FieldDef, ctx: ColumnContext) -> list[sa.Column[object]]:
    from tessera.metadata.fields import field_type

    return field_type(fld.type).columns(fld, ctx)


def field_indexes(
    fld: FieldDef, ctx: ColumnContext, table_columns: list[sa.Column[object]]
) -> list[sa.Index]:
    """The indexes a field needs: unique fields a unique index, lookups a plain one."""
    from tessera.metadata.fields import field_type

    first = table_columns[0].name
    if fld.unique:
        return [sa.Index(ctx.namespace.constraint_name("uq", fld.id), first, unique=True)]
    if field_type(fld.type).indexed:
        return [sa.Index(ctx.namespace.constraint_name("ix", fld.id), first)]
    return []


def build_table(obj: ObjectDef, ctx: ColumnContext, metadata: sa.MetaData | None = None) -> sa.Table:
    """The SQLAlchemy table of an object's records."""
    metadata = metadata if metadata is not None else sa.MetaData()
    columns: list[sa.Column[object]] = system_columns()
    owner = next(c for c in columns if c.name == "owner")
    indexes: list[sa.Index] = [sa.Index(ctx.namespace.owner_index_name(obj), owner)]
    for fld in obj.fields:
        cols = field_columns(fld, ctx)
        columns.extend(cols)
        indexes.extend(field_indexes(fld, ctx, cols))
    return sa.Table(
        ctx.namespace.table_name(obj.api_name),
        metadata,
        *columns,
        *indexes,
        schema=ctx.namespace.schema,
    )


class Tables:
    """The record tables of one workspace's data model, built once each.

    Everything that turns metadata into SQL (the read planner, the filter compiler, the
    record service) asks this for an object's table rather than building its own.
    """

    def __init__(self, namespace: Namespace, state: MetadataState) -> None:
        self.namespace = namespace
        self.state = state
        self._context = ColumnContext(namespace, state)
        self._metadata = sa.MetaData()
        self._tables: dict[uuid.UUID, sa.Table] = {}
        self._lock = threading.Lock()

    def of(self, obj: ObjectDef) -> sa.Table:
        """The table of ``obj``. Safe to share between threads (the record API's schema
        cache does): a table is built under a lock together with the tables its lookups
        name, and all are published at once, so a foreign key never resolves to a table
        another thread is still building."""
        table = self._tables.get(obj.id)
        if table is not None:
            return table
        with self._lock:
            if obj.id not in self._tables:
                built: dict[uuid.UUID, sa.Table] = {}
                self._build(obj, built)
                self._tables.update(built)
            return self._tables[obj.id]

    def _build(self, obj: ObjectDef, built: dict[uuid.UUID, sa.Table]) -> None:
        if obj.id in built or obj.id in self._tables:
            return
        built[obj.id] = build_table(obj, self._context, self._metadata)
        for fld in obj.fields:
            target_id = fld.options.get("target_object_id") if fld.type == "lookup" else None
            target = self.state.object_by_id(uuid.UUID(str(target_id))) if target_id else None
            if target is not None:
                self._build(target, built)
