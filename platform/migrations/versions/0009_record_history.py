"""Audit: fields may track their history; the record history table.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tessera.platform.column_types import JSONValue, UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fields") as batch:
        batch.add_column(sa.Column("track_history", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "record_history",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("object_id", sa.Uuid, nullable=False),
        sa.Column("object_api_name", sa.String(64), nullable=False),
        sa.Column("record_id", sa.Uuid, nullable=False),
        sa.Column("field_id", sa.Uuid, nullable=False),
        sa.Column("field_api_name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("old_value", JSONValue, nullable=True),
        sa.Column("new_value", JSONValue, nullable=True),
        sa.Column("actor", sa.Uuid, nullable=True),
        sa.Column("changed_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            ondelete="CASCADE",
            name="fk_record_history_workspace_id_workspaces",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_record_history"),
    )
    op.create_index(
        "ix_record_history_workspace_id_record_id", "record_history", ["workspace_id", "record_id"]
    )
    op.create_index(
        "ix_record_history_workspace_id_changed_at", "record_history", ["workspace_id", "changed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_record_history_workspace_id_changed_at", table_name="record_history")
    op.drop_index("ix_record_history_workspace_id_record_id", table_name="record_history")
    op.drop_table("record_history")
    with op.batch_alter_table("fields") as batch:
        batch.drop_column("track_history")
