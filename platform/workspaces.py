"""Workspaces (tenants): each has its own data model, tables and records."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tessera.metadata.names import workspace_slug_problems
from tessera.metadata.storage import Namespace
from tessera.platform.database import write_transaction
from tessera.platform.errors import NotFound, TesseraError
from tessera.platform.tables import workspaces


@dataclass(frozen=True)
class Workspace:
    id: uuid.UUID
    slug: str
    name: str
    metadata_version: int
    created_at: dt.datetime

    def namespace(self, dialect_name: str) -> Namespace:
        return Namespace(self.slug, dialect_name)


def _workspace(row: sa.Row[tuple[object, ...]]) -> Workspace:
    m = row._mapping
    return Workspace(m["id"], m["slug"], m["name"], m["metadata_version"], m["created_at"])


def get_workspace(conn: Connection, slug: str, *, for_update: bool = False) -> Workspace:
    query = sa.select(workspaces).where(workspaces.c.slug == slug)
    if for_update and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound.single(
            "UNKNOWN_WORKSPACE",
            f"There is no workspace '{slug}'; create it with `tessera workspace create {slug}`.",
            ("workspace",),
        )
    return _workspace(row)


def workspace_by_id(conn: Connection, workspace_id: uuid.UUID) -> Workspace | None:
    """The workspace of that id (what events, runs and timers refer to), or ``None``."""
    row = conn.execute(sa.select(workspaces).where(workspaces.c.id == workspace_id)).first()
    return None if row is None else _workspace(row)


class WorkspaceService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, slug: str, name: str | None = None) -> Workspace:
        """A new workspace with an empty data model (on PostgreSQL, its own schema)."""
        problems = workspace_slug_problems(slug)
        if problems:
            raise TesseraError(problems)
        with write_transaction(self.engine) as conn:
            exists = conn.execute(sa.select(workspaces.c.id).where(workspaces.c.slug == slug)).first()
            if exists:
                raise TesseraError.single(
                    "DUPLICATE_NAME", f"A workspace named '{slug}' already exists.", ("slug",)
                )
            workspace = Workspace(
                uuid.uuid4(), slug, name or slug.replace("_", " ").title(), 0, dt.datetime.now(dt.UTC)
            )
            conn.execute(
                sa.insert(workspaces).values(
                    id=workspace.id,
                    slug=workspace.slug,
                    name=workspace.name,
                    metadata_version=0,
                    created_at=workspace.created_at,
                )
            )
            schema = workspace.namespace(conn.dialect.name).schema
            if schema:
                conn.execute(sa.schema.CreateSchema(schema))
        return workspace

    def ensure(self, slug: str) -> Workspace:
        """The workspace ``slug``, created when missing."""
        try:
            return self.get(slug)
        except NotFound:
            return self.create(slug)

    def get(self, slug: str) -> Workspace:
        with self.engine.connect() as conn:
            return get_workspace(conn, slug)

    def list(self) -> list[Workspace]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(workspaces).order_by(workspaces.c.slug))
            return [_workspace(r) for r in rows]
