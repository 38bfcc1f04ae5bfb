"""The record outbox (record_events) and objects' validation rules.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tessera.platform.column_types import JSONValue, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_events",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("object_id", sa.Uuid, nullable=False),
        sa.Column("object_api_name", sa.String(64), nullable=False),
        sa.Column("record_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("before", JSONValue, nullable=True),
        sa.Column("after", JSONValue, nullable=True),
        sa.Column("changed_fields", JSONValue, nullable=True),
        sa.Column("actor", sa.Uuid, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("dispatched_at", UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            ondelete="CASCADE",
            name="fk_record_events_workspace_id_workspaces",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_record_events"),
    )
    op.create_index(
        "ix_record_events_dispatched_at_created_at", "record_events", ["dispatched_at", "created_at"]
    )
    op.create_index("ix_record_events_workspace_id_record_id", "record_events", ["workspace_id", "record_id"])
    with op.batch_alter_table("objects") as batch:
        batch.add_column(sa.Column("validation_rules", JSONValue, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("objects") as batch:
        batch.drop_column("validation_rules")
    op.drop_index("ix_record_events_workspace_id_record_id", "record_events")
    op.drop_index("ix_record_events_dispatched_at_created_at", "record_events")
    op.drop_table("record_events")
