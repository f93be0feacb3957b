"""Evaluation runs, what each judge result was made with, and the response cache.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rubricate.store.tables import JSONType, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "evaluation_id",
            sa.Integer(),
            sa.ForeignKey("evaluations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "metric_version_id", sa.Integer(), sa.ForeignKey("metric_versions.id"), nullable=False
        ),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("params", JSONType, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "rows_total",
                "rows_done",
                "rows_failed",
                "calls",
                "cache_hits",
                "input_tokens",
                "output_tokens",
            )
        ),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    op.create_index(
        "ix_evaluation_runs_evaluation_created", "evaluation_runs", ["evaluation_id", "created_at"]
    )
    with op.batch_alter_table("judge_results") as batch:
        batch.add_column(sa.Column("evaluation_run_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("temperature", sa.Float(), nullable=True))
        batch.add_column(sa.Column("seed", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("latency_ms", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("cached", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_foreign_key(
            "fk_judge_results_evaluation_run_id_evaluation_runs",
            "evaluation_runs",
            ["evaluation_run_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_unique_constraint(
            "uq_judge_results_evaluation_run_id_row_id", ["evaluation_run_id", "row_id"]
        )
    op.create_table(
        "response_cache",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("reply", JSONType, nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("response_cache")
    with op.batch_alter_table("judge_results") as batch:
        batch.drop_constraint("uq_judge_results_evaluation_run_id_row_id", type_="unique")
        batch.drop_constraint(
            "fk_judge_results_evaluation_run_id_evaluation_runs", type_="foreignkey"
        )
        for name in ("cached", "latency_ms", "seed", "temperature", "evaluation_run_id"):
            batch.drop_column(name)
    op.drop_index("ix_evaluation_runs_evaluation_created", table_name="evaluation_runs")
    op.drop_table("evaluation_runs")
