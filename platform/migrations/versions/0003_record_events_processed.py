"""Record events know when they were processed (the dispatcher re-sends the others).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tessera.platform.column_types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("record_events") as batch:
        batch.add_column(sa.Column("processed_at", UTCDateTime, nullable=True))
    op.create_index("ix_record_events_processed_at", "record_events", ["processed_at"])


def downgrade() -> None:
    op.drop_index("ix_record_events_processed_at", "record_events")
    with op.batch_alter_table("record_events") as batch:
        batch.drop_column("processed_at")
