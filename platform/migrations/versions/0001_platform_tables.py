"""Platform tables: workspaces, object and field metadata, change log, auto-number sequences.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tessera.platform.column_types import JSONValue, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("slug", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("metadata_version", sa.Integer, server_default="0", nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workspaces"),
        sa.UniqueConstraint("slug", name="uq_workspaces_slug"),
    )
    op.create_table(
        "objects",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("api_name", sa.String(64), nullable=False),
        sa.Column("plural_api_name", sa.String(64), nullable=False),
        sa.Column("label_singular", sa.String(200), nullable=False),
        sa.Column("label_plural", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, server_default="", nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("created_version", sa.Integer, nullable=False),
        sa.Column("updated_version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_objects_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name="pk_objects"),
        sa.UniqueConstraint("workspace_id", "api_name", name="uq_objects_workspace_id_api_name"),
    )
    op.create_table(
        "fields",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("object_id", sa.Uuid, nullable=False),
        sa.Column("api_name", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("required", sa.Boolean, nullable=False),
        sa.Column("is_unique", sa.Boolean, nullable=False),
        sa.Column("default_value", JSONValue, nullable=True),
        sa.Column("help_text", sa.Text, server_default="", nullable=False),
        sa.Column("options", JSONValue, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("created_version", sa.Integer, nullable=False),
        sa.Column("updated_version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "object_id"],
            ["objects.workspace_id", "objects.id"],
            name="fk_fields_workspace_id_objects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_fields_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name="pk_fields"),
        sa.UniqueConstraint(
            "workspace_id", "object_id", "api_name", name="uq_fields_workspace_id_object_id_api_name"
        ),
    )
    op.create_table(
        "metadata_changes",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("changes", JSONValue, nullable=False),
        sa.Column("plan", JSONValue, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_metadata_changes_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_metadata_changes"),
        sa.UniqueConstraint("workspace_id", "version", name="uq_metadata_changes_workspace_id_version"),
    )
    op.create_table(
        "auto_number_sequences",
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("field_id", sa.Uuid, nullable=False),
        sa.Column("last_value", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "field_id"],
            ["fields.workspace_id", "fields.id"],
            name="fk_auto_number_sequences_workspace_id_fields",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "field_id", name="pk_auto_number_sequences"),
    )


def downgrade() -> None:
    op.drop_table("auto_number_sequences")
    op.drop_table("metadata_changes")
    op.drop_table("fields")
    op.drop_table("objects")
    op.drop_table("workspaces")
