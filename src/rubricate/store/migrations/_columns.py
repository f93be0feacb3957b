"""Column groups that several migrations create, each defined once.

Frozen with the migrations that use them: a database migrated again must come out as it
did the first time, so nothing here ever changes. A later change to one of these tables
is a new migration, which writes its own columns (tables.py holds the current schema)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from rubricate.store.column_types import UTCDateTime


def owned_by(column: str, owner: str) -> sa.Column[Any]:
    """A row's owner: a foreign key to ``owner.id``, never null, deleted with its owner."""
    return sa.Column(
        column, sa.Integer(), sa.ForeignKey(f"{owner}.id", ondelete="CASCADE"), nullable=False
    )


def usage_columns() -> tuple[sa.Column[Any], ...]:
    """A model reply's tokens and cost (each None when unknown), and when it was stored."""
    return (
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def run_times() -> tuple[sa.Column[Any], ...]:
    """When a run was created, started and finished (None until then)."""
    return (
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
