"""Evaluations: rows, the judge's results on them, reviewers' annotations, resolutions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EvaluationSource(StrEnum):
    IMPORTED = "imported"  # scores came from elsewhere
    RUBRICATE = "rubricate"  # scored here with a judge model


@dataclass(frozen=True, slots=True)
class Evaluation:
    id: int
    name: str
    description: str
    source: EvaluationSource
    created_at: datetime
    row_count: int = 0
    scoring_in_progress: int = 0  # judge runs still under way

    @property
    def completed(self) -> bool:
        """An evaluation is completed when no scoring is still under way."""
        return self.scoring_in_progress == 0


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    evaluation_id: int
    external_id: str
    input: str
    output: str
    context: str | None = None
    expected: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resolution:
    row_id: int
    metric_id: int
    value: float
    resolved_by: str  # "policy:<name>" or "user:<name>"
    created_at: datetime
