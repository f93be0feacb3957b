"""The stages of an alignment run and what each hands the next, as a versioned model.

A durable run checkpoints every stage's output (DBOS records it), so a run in flight
across an upgrade is resumed by newer code from what older code wrote. Hence: the stored
form is plain JSON (never a pickled class), it carries ``format``, and ``from_stored``
reads every format ever written. To change the model: bump ``FORMAT`` and add the
upgrade from the previous one in ``_upgrade``, with a test that a run checkpointed in the
old format still recovers (tests/runs/test_durable_alignment.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rubricate.domain.alignment import GuidelineItem, Usage, Verification
from rubricate.domain.alignment_runs import Phase
from rubricate.models.cost import Tally

if TYPE_CHECKING:
    from rubricate.models.client import ModelClient

FORMAT: Literal[2] = 2  # the format ``to_stored`` writes


class Stage(StrEnum):
    """The durable steps of a run, in order; each reports the phases of PHASES."""

    PREPARE = "prepare"  # loading annotations, building traces
    DISTILL = "distill"
    VERIFY = "verify"
    FINISH = "finish"

    @property
    def phases(self) -> tuple[Phase, ...]:
        return PHASES[self]


STAGES = tuple(Stage)

# The one map between the two vocabularies: a run record shows phases (finer, for
# progress); the workflow checkpoints stages. Together they list every phase, in order.
PHASES: dict[Stage, tuple[Phase, ...]] = {
    Stage.PREPARE: (Phase.LOADING_ANNOTATIONS, Phase.BUILDING_TRACES),
    Stage.DISTILL: (Phase.DISTILLING,),
    Stage.VERIFY: (Phase.VERIFYING,),
    Stage.FINISH: (Phase.FINALIZING,),
}


_ORDER = {phase: index for index, phase in enumerate(Phase)}


def earlier(phase: Phase, than: Phase) -> bool:
    return _ORDER[phase] < _ORDER[than]


def stage_of(phase: Phase) -> Stage:
    return next(stage for stage, phases in PHASES.items() if phase in phases)


class Carried(BaseModel):
    """What the stages so far have handed on. ``proposed`` (distill) and ``chosen``
    (verify) are None until their stage ran; ``spent`` counts every model call against
    the run's budget; ``stopped``: the run ended (finished, cancelled or failed).
    ``fold_proposed``: each fold's guidelines when the run cross-fits (small data,
    ``cross_fit.py``); ``proposed`` then lists them all once."""

    model_config = ConfigDict(extra="forbid")

    format: Literal[2] = FORMAT
    prepared: bool = False
    proposed: list[GuidelineItem] | None = None
    fold_proposed: list[list[GuidelineItem]] | None = None
    notes: list[str] = Field(default_factory=list)
    chosen: list[GuidelineItem] | None = None
    verification: Verification | None = None
    reused_judge_results: int = 0
    usage: Usage = Field(default_factory=Usage)
    spent: Tally = Field(default_factory=Tally)
    stopped: bool = False

    def to_stored(self) -> dict[str, Any]:
        """Plain JSON, what a durable step returns."""
        return self.model_dump(mode="json")

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> Carried:
        """Read what a step returned, in this format or any earlier one."""
        return cls.model_validate(_upgrade(dict(stored)))

    def stop(self) -> Carried:
        return self.model_copy(update={"stopped": True})

    def budget_spent(self) -> Tally:
        """A copy of ``spent``, for a stage's clients to count on from."""
        return dataclasses.replace(self.spent)

    def counting(self, reflection: ModelClient, judge: ModelClient, spent: Tally) -> Carried:
        """This plus a stage's calls (an unknown cost stays unknown); ``spent``, the budget
        spent so far, counted on from ``budget_spent()`` by the stage's clients."""
        usage = self.usage.model_copy()
        r, j = reflection.spent, judge.spent
        usage.reflection_calls += r.calls
        usage.judge_calls += j.calls
        usage.cache_hits += r.cache_hits + j.cache_hits
        usage.input_tokens += r.input_tokens + j.input_tokens
        usage.output_tokens += r.output_tokens + j.output_tokens
        if usage.cost_usd is None or r.cost_usd is None or j.cost_usd is None:
            usage.cost_usd = None
        else:
            usage.cost_usd += r.cost_usd + j.cost_usd
        return self.model_copy(update={"usage": usage, "spent": spent})


def _upgrade(stored: dict[str, Any]) -> dict[str, Any]:
    version = stored.get("format", 0)
    if version == 0:  # the untyped dict of earlier versions: no "format" key
        stored = {_V0_NAMES[key]: value for key, value in stored.items() if key in _V0_NAMES}
        version = 1
    if version == 1 and type(version) is int:  # format 2 added fold_proposed (None: no folds)
        version = 2
    if version != FORMAT:
        raise ValueError(
            f"alignment stage output of format {version!r}: this version reads {FORMAT}"
        )
    return stored | {"format": FORMAT}


# Format 0 (rubricate before stages were typed) -> format 1 field names.
_V0_NAMES = {
    "prepared": "prepared",
    "items": "proposed",
    "notes": "notes",
    "chosen": "chosen",
    "report": "verification",
    "reused": "reused_judge_results",
    "usage": "usage",
    "spent": "spent",
    "stopped": "stopped",
}
