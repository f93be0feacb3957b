"""Review queues (queues, their reviewers, rows and assignments), where each annotation
came from (annotations.source: import, inline, queue:NAME; earlier ones were imported or
added inline, and are taken for imported), and the audit log (audit_events)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rubricate.store.column_types import JSONType, UTCDateTime

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("detail", JSONType, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_action", "audit_events", ["action"])
    with op.batch_alter_table("annotations") as batch:
        batch.add_column(
            sa.Column("source", sa.String(80), server_default="import", nullable=False)
        )
    op.create_table(
        "review_queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column("selection", sa.String(200), nullable=False),
        sa.Column("reviews_per_row", sa.Integer(), nullable=False),
        sa.Column("blind", sa.Boolean(), nullable=False),
        sa.Column("lease_seconds", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        _cascade("review_queues", "evaluation_id", "evaluations"),
        _cascade("review_queues", "metric_id", "metrics"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_queues")),
        sa.UniqueConstraint("name", name=op.f("uq_review_queues_name")),
    )
    op.create_table(
        "queue_reviewers",
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        _cascade("queue_reviewers", "queue_id", "review_queues"),
        sa.PrimaryKeyConstraint("queue_id", "reviewer", name=op.f("pk_queue_reviewers")),
    )
    op.create_table(
        "queue_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("needed", sa.Integer(), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        _cascade("queue_items", "queue_id", "review_queues"),
        _cascade("queue_items", "row_id", "rows"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_items")),
        sa.UniqueConstraint("queue_id", "row_id", name=op.f("uq_queue_items_queue_id_row_id")),
    )
    op.create_index("ix_queue_items_open", "queue_items", ["queue_id", "done", "position"])
    op.create_table(
        "queue_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("leased_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("beyond", sa.Boolean(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        _cascade("queue_assignments", "queue_id", "review_queues"),
        _cascade("queue_assignments", "item_id", "queue_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_assignments")),
        sa.UniqueConstraint(
            "item_id", "reviewer", name=op.f("uq_queue_assignments_item_id_reviewer")
        ),
    )
    op.create_index(
        "ix_queue_assignments_reviewer", "queue_assignments", ["queue_id", "reviewer", "state"]
    )


def _cascade(table: str, column: str, owner: str) -> sa.ForeignKeyConstraint:
    """``table.column`` points at ``owner.id``, and its rows are deleted with their owner;
    named as tables.py's naming convention names it."""
    return sa.ForeignKeyConstraint(
        [column], [f"{owner}.id"], ondelete="CASCADE", name=op.f(f"fk_{table}_{column}_{owner}")
    )


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("queue_assignments")
    op.drop_table("queue_items")
    op.drop_table("queue_reviewers")
    op.drop_table("review_queues")
    with op.batch_alter_table("annotations") as batch:
        batch.drop_column("source")
