"""Evaluation runs, what each judge result was made with, and the response cache."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rubricate.store.column_types import JSONType
from rubricate.store.migrations._columns import owned_by, run_times, usage_columns

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "evaluation_runs",
        sa.Column("id", sa.String(64), primary_key=True),
        owned_by("evaluation_id", "evaluations"),
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
        *run_times(),
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
        *usage_columns(),
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
