"""A summary beside each alignment run's result, so that lists of runs need not read
results (which grow with the data)."""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from rubricate.domain.alignment import AlignmentResult
from rubricate.domain.alignment_runs import ResultSummary
from rubricate.store.column_types import JSONType

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.add_column("alignment_runs", sa.Column("summary", JSONType, nullable=True))
    runs = sa.table(
        "alignment_runs",
        sa.column("id", sa.String),
        sa.column("result", JSONType),
        sa.column("summary", JSONType),
    )
    bind = op.get_bind()
    for run_id, result in bind.execute(sa.select(runs.c.id, runs.c.result)):
        data = json.loads(result) if isinstance(result, str) else result
        if not data:
            continue
        summary = ResultSummary.of(AlignmentResult.model_validate(data)).to_json()
        bind.execute(runs.update().where(runs.c.id == run_id).values(summary=summary))


def downgrade() -> None:
    op.drop_column("alignment_runs", "summary")
