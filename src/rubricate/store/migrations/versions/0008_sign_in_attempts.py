"""Failed sign-ins by user name and client address, counted by every server process to
throttle password guessing."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rubricate.store.column_types import UTCDateTime

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempts")),
    )
    for column in ("user_name", "address", "attempted_at"):
        op.create_index(
            op.f(f"ix_sign_in_attempts_{column}"), "sign_in_attempts", [column], unique=False
        )


def downgrade() -> None:
    for column in ("user_name", "address", "attempted_at"):
        op.drop_index(op.f(f"ix_sign_in_attempts_{column}"), table_name="sign_in_attempts")
    op.drop_table("sign_in_attempts")
