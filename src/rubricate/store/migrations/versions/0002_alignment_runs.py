"""Alignment runs, their source evaluations, and the run a metric version came from."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rubricate.store.column_types import JSONType
from rubricate.store.migrations._columns import owned_by, run_times

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "alignment_runs",
        sa.Column("id", sa.String(64), primary_key=True),
        owned_by("metric_id", "metrics"),
        sa.Column(
            "base_version_id", sa.Integer(), sa.ForeignKey("metric_versions.id"), nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(32), nullable=True),
        sa.Column("params", JSONType, nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("disagreements", sa.Integer(), nullable=True),
        sa.Column("agreeing_skipped", sa.Integer(), nullable=True),
        sa.Column("missing_skipped", sa.Integer(), nullable=True),
        sa.Column("low_confidence", sa.Boolean(), nullable=False),
        sa.Column("result", JSONType, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "accepted_version_id",
            sa.Integer(),
            sa.ForeignKey("metric_versions.id"),
            nullable=True,
        ),
        *run_times(),
    )
    op.create_index(
        "ix_alignment_runs_metric_created", "alignment_runs", ["metric_id", "created_at"]
    )
    op.create_table(
        "alignment_run_evaluations",
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("alignment_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("evaluation_id", sa.Integer(), sa.ForeignKey("evaluations.id"), primary_key=True),
    )
    with op.batch_alter_table("metric_versions") as batch:
        batch.add_column(sa.Column("source_run_id", sa.String(64), nullable=True))
        batch.create_foreign_key(
            "fk_metric_versions_source_run_id_alignment_runs",
            "alignment_runs",
            ["source_run_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("metric_versions") as batch:
        batch.drop_constraint("fk_metric_versions_source_run_id_alignment_runs", type_="foreignkey")
        batch.drop_column("source_run_id")
    op.drop_table("alignment_run_evaluations")
    op.drop_index("ix_alignment_runs_metric_created", table_name="alignment_runs")
    op.drop_table("alignment_runs")
