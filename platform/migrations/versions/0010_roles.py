"""Permissions: custom roles, users' teams, the audit trail of admin work, and an index
on the owner of every record table (roles that reach only their own or their team's
records read through it).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from tessera.metadata.storage import Namespace
from tessera.platform.column_types import JSONValue, UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("document", JSONValue, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], ondelete="CASCADE", name="fk_roles_workspace_id_workspaces"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_roles"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_roles_workspace_id_name"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(320), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("before", JSONValue, nullable=True),
        sa.Column("after", JSONValue, nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            ondelete="CASCADE",
            name="fk_audit_events_workspace_id_workspaces",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_workspace_id_at", "audit_events", ["workspace_id", "at"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("team", sa.String(100), nullable=True))
    bind = op.get_bind()
    tables = bind.execute(
        sa.text("SELECT w.slug, o.id, o.api_name FROM objects o JOIN workspaces w ON w.id = o.workspace_id")
    ).all()
    for slug, object_id, api_name in tables:
        namespace = Namespace(slug, bind.dialect.name)
        index = namespace.constraint_name("ix_owner", uuid.UUID(str(object_id)))
        op.create_index(
            index, namespace.table_name(api_name), ["owner"], schema=namespace.schema, if_not_exists=True
        )


def downgrade() -> None:
    op.drop_table("audit_events")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("team")
    op.drop_table("roles")
