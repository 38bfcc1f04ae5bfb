"""Workflow runs: snapshot, status and steps of each run.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tessera.platform.column_types import JSONValue, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflow_runs",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("workflow_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("snapshot", JSONValue, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=True),
        sa.Column("record_id", sa.Uuid, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("steps", JSONValue, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            ondelete="CASCADE",
            name="fk_workflow_runs_workspace_id_workspaces",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_runs"),
        sa.UniqueConstraint("workflow_id", "event_id", name="uq_workflow_runs_workflow_id_event_id"),
    )


def downgrade() -> None:
    op.drop_table("workflow_runs")
