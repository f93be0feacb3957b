"""Evaluation runs: one scoring of an evaluation's rows with a metric version and a judge
model. Their statuses mirror alignment runs, with Completed for Aligned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rubricate.domain.errors import Conflict
from rubricate.domain.run_status import RunState


class EvaluationRunStatus(RunState):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    ERROR = "error"
    CANCELLED = "cancelled"


_FINISHED = frozenset(
    {EvaluationRunStatus.COMPLETED, EvaluationRunStatus.ERROR, EvaluationRunStatus.CANCELLED}
)
_LEGAL: dict[EvaluationRunStatus, frozenset[EvaluationRunStatus]] = {
    EvaluationRunStatus.PENDING: frozenset(
        {EvaluationRunStatus.RUNNING, EvaluationRunStatus.CANCELLED, EvaluationRunStatus.ERROR}
    ),
    EvaluationRunStatus.RUNNING: _FINISHED,
    EvaluationRunStatus.ERROR: frozenset({EvaluationRunStatus.PENDING}),  # retry
    EvaluationRunStatus.COMPLETED: frozenset(),
    EvaluationRunStatus.CANCELLED: frozenset(),
}


def check_evaluation_transition(current: EvaluationRunStatus, target: EvaluationRunStatus) -> None:
    if target not in _LEGAL[current]:
        raise Conflict(f"an evaluation run that is {current.label} cannot become {target.label}")


@dataclass(frozen=True, slots=True)
class EvaluationRun:
    id: str
    evaluation_id: int
    metric_version_id: int
    model: str
    params: dict[str, Any]
    status: EvaluationRunStatus
    created_at: datetime
    rows_total: int = 0
    rows_done: int = 0
    rows_failed: int = 0
    calls: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None  # None: unknown
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def rows_scored(self) -> int:
        return self.rows_done - self.rows_failed


@dataclass(frozen=True, slots=True)
class RowError:
    """A row an evaluation run could not score, by the user's row id."""

    row: str
    error: str
