"""Metrics and versions, evaluations, rows, judge results, annotations, resolutions."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rubricate.store.column_types import JSONType, UTCDateTime
from rubricate.store.migrations._columns import owned_by, usage_columns

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("judge_model", sa.String(200), nullable=True),
        sa.Column("pinned_version", sa.Integer(), nullable=True),
        sa.Column("forked_from_id", sa.Integer(), sa.ForeignKey("metrics.id"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "metric_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        owned_by("metric_id", "metrics"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("guidelines", sa.Text(), nullable=False),
        sa.Column("scale", JSONType, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column(
            "parent_version_id", sa.Integer(), sa.ForeignKey("metric_versions.id"), nullable=True
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("metric_id", "number"),
    )
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "rows",
        sa.Column("id", sa.Integer(), primary_key=True),
        owned_by("evaluation_id", "evaluations"),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("expected", sa.Text(), nullable=True),
        sa.Column("metadata", JSONType, nullable=False),
        sa.UniqueConstraint("evaluation_id", "external_id"),
    )
    op.create_index("ix_rows_evaluation_position", "rows", ["evaluation_id", "position"])
    op.create_table(
        "judge_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        owned_by("row_id", "rows"),
        sa.Column(
            "metric_version_id",
            sa.Integer(),
            sa.ForeignKey("metric_versions.id"),
            nullable=False,
        ),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("judge_model", sa.String(200), nullable=True),
        sa.Column("raw_output", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        *usage_columns(),
    )
    op.create_index(
        "ix_judge_results_row_version", "judge_results", ["row_id", "metric_version_id"]
    )
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer(), primary_key=True),
        owned_by("row_id", "rows"),
        owned_by("metric_id", "metrics"),
        sa.Column("annotator", sa.String(200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("row_id", "metric_id", "annotator"),
    )
    op.create_table(
        "resolutions",
        sa.Column("id", sa.Integer(), primary_key=True),
        owned_by("row_id", "rows"),
        owned_by("metric_id", "metrics"),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("resolved_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("row_id", "metric_id"),
    )


def downgrade() -> None:
    for table in (
        "resolutions",
        "annotations",
        "judge_results",
        "rows",
        "evaluations",
        "metric_versions",
        "metrics",
    ):
        op.drop_table(table)
