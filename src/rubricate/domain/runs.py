"""Alignment runs: statuses, phases and the transitions allowed between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from rubricate.domain.errors import Conflict

LOW_CONFIDENCE_DISAGREEMENTS = 10  # fewer than this: guidelines tend to be generic


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    ALIGNED = "aligned"
    ERROR = "error"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def finished(self) -> bool:
        return self in {RunStatus.ALIGNED, RunStatus.ERROR, RunStatus.CANCELLED}


class Phase(StrEnum):
    LOADING_ANNOTATIONS = "loading_annotations"
    BUILDING_TRACES = "building_traces"
    DISTILLING = "distilling"
    VERIFYING = "verifying"
    FINALIZING = "finalizing"

    @property
    def label(self) -> str:
        return _PHASE_LABELS[self]


_PHASE_LABELS = {
    Phase.LOADING_ANNOTATIONS: "Loading annotations",
    Phase.BUILDING_TRACES: "Building disagreement traces",
    Phase.DISTILLING: "Distilling guidelines",
    Phase.VERIFYING: "Verifying guidelines",
    Phase.FINALIZING: "Finalizing",
}

_LEGAL: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PENDING: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.ERROR}),
    RunStatus.RUNNING: frozenset({RunStatus.ALIGNED, RunStatus.ERROR, RunStatus.CANCELLED}),
    RunStatus.ERROR: frozenset({RunStatus.PENDING}),  # retry
    RunStatus.ALIGNED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}


def can_transition(current: RunStatus, target: RunStatus) -> bool:
    return target in _LEGAL[current]


def check_transition(current: RunStatus, target: RunStatus) -> None:
    if not can_transition(current, target):
        raise Conflict(f"a run that is {current.label} cannot become {target.label}")


@dataclass(frozen=True, slots=True)
class AlignmentParams:
    evaluation_ids: tuple[int, ...]
    delta: float
    reflection_lm: str | None = None  # None: the configured default
    judge_model: str | None = None  # None: no verification
    budget: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlignmentRun:
    id: str
    metric_id: int
    base_version_id: int
    status: RunStatus
    params: AlignmentParams
    created_at: datetime
    phase: Phase | None = None
    progress_done: int = 0
    progress_total: int = 0
    disagreements: int | None = None
    agreeing_skipped: int | None = None
    missing_skipped: int | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    accepted_version_id: int | None = None

    @property
    def low_confidence(self) -> bool:
        return self.disagreements is not None and (
            self.disagreements < LOW_CONFIDENCE_DISAGREEMENTS
        )
