"""The per-run call journal and the workers' heartbeats."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rubricate.store.column_types import JSONType, UTCDateTime
from rubricate.store.migrations._columns import usage_columns

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "run_calls",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("reply", JSONType, nullable=False),
        *usage_columns(),
    )
    op.create_table(
        "workers",
        sa.Column("executor_id", sa.String(100), primary_key=True),
        sa.Column("hostname", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.Column("stopped_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_table("run_calls")
