"""Packages: what each workspace has installed, and saved views.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tessera.platform.column_types import JSONValue, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "installed_packages",
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("content", JSONValue, nullable=False),
        sa.Column("owned", JSONValue, nullable=False),
        sa.Column("installed_at", UTCDateTime, nullable=False),
        sa.Column("installed_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            ondelete="CASCADE",
            name="fk_installed_packages_workspace_id_workspaces",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "name", name="pk_installed_packages"),
    )
    op.create_table(
        "saved_views",
        sa.Column("workspace_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("object_api_name", sa.String(64), nullable=False),
        sa.Column("definition", JSONValue, nullable=False),
        sa.Column("package", sa.String(100), nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            ondelete="CASCADE",
            name="fk_saved_views_workspace_id_workspaces",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "name", name="pk_saved_views"),
    )


def downgrade() -> None:
    op.drop_table("saved_views")
    op.drop_table("installed_packages")
