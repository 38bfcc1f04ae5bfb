"""Durable workflow runs: checkpoints, leases and wake-up times; timers for schedules and
relative dates; webhook secrets.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tessera.platform.column_types import JSONValue, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workflow_runs") as batch:
        batch.add_column(sa.Column("trigger_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("data", JSONValue, nullable=True))
        batch.add_column(sa.Column("results", JSONValue, nullable=True))
        batch.add_column(sa.Column("attempts", JSONValue, nullable=True))
        batch.add_column(sa.Column("wake_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("lease_token", sa.Uuid, nullable=True))
        batch.add_column(sa.Column("lease_until", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("actor", sa.Uuid, nullable=True))
        batch.add_column(sa.Column("depth", sa.Integer, nullable=False, server_default="0"))
        batch.create_unique_constraint(
            "uq_workflow_runs_workflow_id_trigger_key", ["workflow_id", "trigger_key"]
        )
        batch.create_index("ix_workflow_runs_status_wake_at", ["status", "wake_at"])
    with op.batch_alter_table("workflows") as batch:
        batch.add_column(sa.Column("webhook_secret", sa.String(64), nullable=True))
    op.create_table(
        "workflow_timers",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("workflow_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("record_id", sa.Uuid, nullable=True),
        sa.Column("fire_at", UTCDateTime, nullable=False),
        sa.Column("fired_at", UTCDateTime, nullable=True),
        sa.Column("key", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            ondelete="CASCADE",
            name="fk_workflow_timers_workspace_id_workspaces",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_timers"),
        sa.UniqueConstraint("workflow_id", "key", name="uq_workflow_timers_workflow_id_key"),
    )
    op.create_index("ix_workflow_timers_fired_at_fire_at", "workflow_timers", ["fired_at", "fire_at"])


def downgrade() -> None:
    op.drop_index("ix_workflow_timers_fired_at_fire_at", table_name="workflow_timers")
    op.drop_table("workflow_timers")
    with op.batch_alter_table("workflows") as batch:
        batch.drop_column("webhook_secret")
    with op.batch_alter_table("workflow_runs") as batch:
        batch.drop_index("ix_workflow_runs_status_wake_at")
        batch.drop_constraint("uq_workflow_runs_workflow_id_trigger_key", type_="unique")
        for column in (
            "depth",
            "actor",
            "lease_until",
            "lease_token",
            "wake_at",
            "attempts",
            "results",
            "data",
            "trigger_key",
        ):
            batch.drop_column(column)
