"""Connections to other systems, their sync checkpoints and the sync log.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tessera.platform.column_types import JSONValue, UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"], ["workspaces.id"], ondelete="CASCADE", name=f"fk_{table}_workspace_id_workspaces"
    )


def connection_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["connection_id"],
        ["connections.id"],
        ondelete="CASCADE",
        name=f"fk_{table}_connection_id_connections",
    )


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("connector", sa.String(63), nullable=False),
        sa.Column("config", JSONValue, nullable=False),
        sa.Column("secrets", sa.Text, nullable=False),
        sa.Column("streams", JSONValue, nullable=True),
        sa.Column("schedule", sa.String(100), nullable=True),
        sa.Column("next_sync_at", UTCDateTime, nullable=True),
        sa.Column("run_as", sa.Uuid, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("push", JSONValue, nullable=True),
        sa.Column("push_secret", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        workspace_fk("connections"),
        sa.PrimaryKeyConstraint("id", name="pk_connections"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_connections_workspace_id_name"),
    )
    op.create_table(
        "sync_states",
        sa.Column("connection_id", sa.Uuid, nullable=False),
        sa.Column("stream", sa.String(100), nullable=False),
        sa.Column("state", JSONValue, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        connection_fk("sync_states"),
        sa.PrimaryKeyConstraint("connection_id", "stream", name="pk_sync_states"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("connection_id", sa.Uuid, nullable=False),
        sa.Column("stream", sa.String(100), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("records_read", sa.Integer, nullable=False),
        sa.Column("records_created", sa.Integer, nullable=False),
        sa.Column("records_updated", sa.Integer, nullable=False),
        sa.Column("records_failed", sa.Integer, nullable=False),
        sa.Column("errors", JSONValue, nullable=False),
        sa.Column("error", JSONValue, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("heartbeat_at", UTCDateTime, nullable=True),
        sa.Column("due_at", UTCDateTime, nullable=True),
        workspace_fk("sync_runs"),
        connection_fk("sync_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
    )
    op.create_index("ix_sync_runs_connection_id_created_at", "sync_runs", ["connection_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_sync_runs_connection_id_created_at", table_name="sync_runs")
    op.drop_table("sync_runs")
    op.drop_table("sync_states")
    op.drop_table("connections")
