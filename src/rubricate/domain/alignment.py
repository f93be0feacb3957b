"""What an alignment run produces and how a reviewer's edits apply to it. Stored as JSON
on the run (``AlignmentResult.model_dump(mode="json")``), read back with
``AlignmentResult.model_validate``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from rubricate.domain.traces import Direction, GuidelineKind

VerificationStatus = Literal[
    "verified",  # figures on held-out test rows
    "not run",  # no judge model was given
    "unverified: too few rows",
    "unverified: budget exhausted",
    "nothing beat the current prompt",
]
Design = Literal["random", "stratified"]
Outcome = Literal["kept", "dropped", "unchecked"]
MIN_TEST_ROWS = 30


class GuidelineItem(BaseModel):
    """One guideline of a run. ``id`` is stable within the run (1, 2, ...), so reviewers'
    edits can name it; ``existing`` marks one carried over from the base version.
    ``verified``: kept by verification's test on held-out rows, and not edited since (a
    person's edit makes it unverified again). ``dropped_reason``: why verification did not
    put a proposed guideline forward. ``applies_when``, ``target`` (lowest and highest
    score reviewers give such outputs), ``kind`` and ``counter_row_ids``: what reflection
    said of it (empty for the offline engine and for existing guidelines)."""

    id: int
    text: str
    direction: Direction | None = None
    row_ids: list[int] = Field(default_factory=list)
    evidence: str = ""
    existing: bool = False
    applies_when: str = ""
    target: tuple[float, float] | None = None
    kind: GuidelineKind | None = None
    counter_row_ids: list[int] = Field(default_factory=list)
    verified: bool = False
    dropped_reason: str | None = None


class Figure(BaseModel):
    """A figure with its bootstrap 95% interval (None where it cannot be computed)."""

    value: float | None
    low: float | None = None
    high: float | None = None


class AgreementFigures(BaseModel):
    rows: int
    exact: Figure
    within_delta: Figure
    mae: Figure
    kappa: Figure
    spearman: Figure


class RowVerdict(BaseModel):
    """A test row's judge score before and after, against the resolved human value."""

    row_id: int
    external_id: str
    human: float
    before: float | None
    after: float | None
    weight: float = 1.0  # how many rows of the whole evaluation this sampled row stands for


class Proposal(BaseModel):
    """A candidate guideline set tried on the selection rows."""

    guideline_ids: list[int]
    selection: AgreementFigures | None = None
    note: str = ""


class GuidelineDecision(BaseModel):
    """What the ablation found for one new guideline on the selection rows: the rows
    where leaving it out was tried, how many it improved or made worse (|judge - human|
    with it against without it), the one-sided sign test's p-value on those rows, and
    Holm's adjusted p-value of what decided it (for a guideline settled before all its rows
    were tried, the bound that settled it)."""

    guideline_id: int
    outcome: Outcome
    rows: int = 0
    improved: int = 0
    regressed: int = 0
    p_value: float | None = None
    adjusted_p: float | None = None
    reason: str = ""


class Verification(BaseModel):
    """``before`` and ``after`` are estimates for the whole evaluation from the test rows
    (``test_design``: a simple random sample, or stratified by disagreeing and agreeing
    rows with inverse-probability weights); ``difference`` is after minus before weighted
    kappa, paired on the same rows, with a bootstrap interval over input groups. ``raised``
    only when that interval lies above 0; ``test_drop`` when the test rows show a drop
    (``warning`` says so plainly, and Accept asks for confirmation)."""

    status: VerificationStatus = "not run"
    message: str = ""
    warning: str = ""
    distill_rows: int = 0
    selection_rows: int = 0
    test_rows: int = 0
    selection_design: Design | None = None
    test_design: Design | None = None
    proposals: list[Proposal] = Field(default_factory=list)
    decisions: list[GuidelineDecision] = Field(default_factory=list)
    unchecked: list[int] = Field(default_factory=list)  # guidelines the budget left untested
    before: AgreementFigures | None = None
    after: AgreementFigures | None = None
    difference: Figure | None = None
    raised: bool = False
    test_drop: bool = False
    planned_calls: int = 0  # the judge calls verification may make at most
    cross_fit_folds: int = 0  # > 0: distilled and verified fold by fold (small data)
    rows: list[RowVerdict] = Field(default_factory=list)


class Usage(BaseModel):
    reflection_calls: int = 0
    judge_calls: int = 0
    cache_hits: int = 0
    reused_judge_results: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0  # None: unknown

    @property
    def calls(self) -> int:
        return self.reflection_calls + self.judge_calls


class ReviewEdit(BaseModel):
    guideline_id: int
    action: Literal["strike", "edit", "restore"]
    text: str | None = None  # the new text, for "edit"
    at: datetime
    by: str | None = None


class Review(BaseModel):
    decision: Literal["accepted", "rejected"] | None = None
    at: datetime | None = None
    by: str | None = None
    version_id: int | None = None  # the version an accept created
    metric: str | None = None  # the metric it belongs to (a fork has a new name)
    merged: bool = False  # accepted on top of a newer active version
    unverified: str | None = None  # accepted unverified: the reason the person confirmed
    edits: list[ReviewEdit] = Field(default_factory=list)


class AlignmentResult(BaseModel):
    """``guidelines`` are the ones the run puts forward: after verification, the chosen
    proposal's; ``proposed`` holds everything the merge step kept, chosen or not."""

    engine: str  # "builtin:offline" or the reflection LM's name
    guidelines: list[GuidelineItem] = Field(default_factory=list)
    proposed: list[GuidelineItem] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    rows_used: int = 0
    disagreements: int = 0
    agreeing_skipped: int = 0
    missing_judge: int = 0
    missing_human: int = 0
    reviewer_alpha: float | None = None
    low_confidence: bool = False
    verification: Verification = Field(default_factory=Verification)
    usage: Usage = Field(default_factory=Usage)
    review: Review = Field(default_factory=Review)

    def effective_guidelines(self) -> list[GuidelineItem]:
        """The guidelines after the reviewer's edits: struck ones gone, edited ones with
        their new text (the last edit of a guideline wins). An edited guideline is no
        longer the one verification tested, so it is marked unverified."""
        struck: set[int] = set()
        texts: dict[int, str] = {}
        for edit in self.review.edits:
            if edit.action == "strike":
                struck.add(edit.guideline_id)
            elif edit.action == "restore":
                struck.discard(edit.guideline_id)
            elif edit.text is not None:
                texts[edit.guideline_id] = edit.text
        return [
            g.model_copy(update={"text": texts[g.id], "verified": False})
            if g.id in texts and texts[g.id] != g.text
            else g
            for g in self.guidelines
            if g.id not in struck
        ]

    def guidelines_text(self) -> str:
        """The guidelines section a new metric version gets: one "- " line each."""
        return "\n".join(f"- {g.text}" for g in self.effective_guidelines())


def parse_guidelines_text(text: str) -> list[str]:
    """A version's guidelines section back into single guidelines ("- " lines; a line
    without a bullet continues the one before)."""
    items: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(("- ", "* ")):
            items.append(stripped[2:].strip())
        elif items:
            items[-1] = f"{items[-1]} {stripped}"
        else:
            items.append(stripped)
    return items
