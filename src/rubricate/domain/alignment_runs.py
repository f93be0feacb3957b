"""Alignment runs: statuses, phases and the transitions allowed between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rubricate.domain.errors import Conflict
from rubricate.domain.run_status import RunState

if TYPE_CHECKING:  # pydantic models; the CLI reads Budget and RunStatus at start-up
    from rubricate.domain.alignment import AlignmentResult

LOW_CONFIDENCE_DISAGREEMENTS = 10  # fewer than this: guidelines tend to be generic


class RunStatus(RunState):
    PENDING = "pending"
    RUNNING = "running"
    ALIGNED = "aligned"
    ERROR = "error"
    CANCELLED = "cancelled"


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
class Budget:
    """Caps on one run's model use; a run stops spending when one is reached."""

    max_calls: int = 1000
    max_tokens: int = 3_000_000
    max_cost_usd: float | None = 10.0  # None: no cap on money

    def to_json(self) -> dict[str, Any]:
        return {
            "max_calls": self.max_calls,
            "max_tokens": self.max_tokens,
            "max_cost_usd": self.max_cost_usd,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Budget:
        return Budget(
            **{k: data[k] for k in ("max_calls", "max_tokens", "max_cost_usd") if k in data}
        )


@dataclass(frozen=True, slots=True)
class AlignmentParams:
    evaluation_ids: tuple[int, ...]
    delta: float
    reflection_lm: str = "builtin:offline"  # resolved at start: the default is written down
    judge_model: str | None = None  # None: no verification
    budget: Budget = field(default_factory=Budget)
    seed: int = 0  # the split and the bootstrap

    def to_json(self) -> dict[str, Any]:
        return {
            "evaluation_ids": list(self.evaluation_ids),
            "delta": self.delta,
            "reflection_lm": self.reflection_lm,
            "judge_model": self.judge_model,
            "budget": self.budget.to_json(),
            "seed": self.seed,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> AlignmentParams:
        return AlignmentParams(
            evaluation_ids=tuple(data["evaluation_ids"]),
            delta=float(data["delta"]),
            reflection_lm=data.get("reflection_lm") or "builtin:offline",
            judge_model=data.get("judge_model"),
            budget=Budget.from_json(data.get("budget") or {}),
            seed=int(data.get("seed", 0)),
        )


@dataclass(frozen=True, slots=True)
class ResultSummary:
    """What a list of runs shows of a result, stored beside it: a result holds every
    guideline's row ids and grows with the data, a summary stays a few bytes."""

    guidelines: int
    verification: str
    decision: str | None = None
    decided_metric: str | None = None

    @classmethod
    def of(cls, result: AlignmentResult) -> ResultSummary:
        return cls(
            guidelines=len(result.effective_guidelines()),
            verification=result.verification.status,
            decision=result.review.decision,
            decided_metric=result.review.metric,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "guidelines": self.guidelines,
            "verification": self.verification,
            "decision": self.decision,
            "decided_metric": self.decided_metric,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResultSummary:
        return cls(
            guidelines=int(data["guidelines"]),
            verification=str(data["verification"]),
            decision=data.get("decision"),
            decided_metric=data.get("decided_metric"),
        )


@dataclass(frozen=True, slots=True)
class AlignmentRun:
    id: str
    metric_id: int
    metric: str
    base_version_id: int
    status: RunStatus
    params: AlignmentParams
    created_at: datetime
    evaluations: tuple[str, ...] = ()  # the source evaluations' names
    phase: Phase | None = None
    progress_done: int = 0
    progress_total: int = 0
    disagreements: int | None = None
    agreeing_skipped: int | None = None
    missing_skipped: int | None = None
    result: AlignmentResult | None = None  # None also in lists read without results
    summary: ResultSummary | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    accepted_version_id: int | None = None

    @property
    def low_confidence(self) -> bool:
        return self.disagreements is not None and (
            self.disagreements < LOW_CONFIDENCE_DISAGREEMENTS
        )
