"""Provider leases (concurrency shared by every worker) and users with roles."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rubricate.store.column_types import UTCDateTime

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "provider_leases",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("holder", sa.String(100), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_leases")),
    )
    op.create_index(
        op.f("ix_provider_leases_provider"), "provider_leases", ["provider"], unique=False
    )
    op.create_table(
        "users",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=True),
        sa.Column("token_digest", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_users")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_users_token_digest")),
    )


def downgrade() -> None:
    op.drop_table("users")
    op.drop_index(op.f("ix_provider_leases_provider"), table_name="provider_leases")
    op.drop_table("provider_leases")
