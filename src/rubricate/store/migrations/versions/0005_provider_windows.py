"""Rate-limit windows per provider, shared by every worker."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rubricate.store.column_types import UTCDateTime

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "provider_windows",
        sa.Column("provider", sa.String(100), primary_key=True),
        sa.Column("window_start", UTCDateTime(), primary_key=True),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("provider_windows")
