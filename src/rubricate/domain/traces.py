"""Disagreement traces and the guidelines distilled from them.

A trace is what a reflection model reads about one row: the texts, the judge's verdict, the
resolved human value and every reviewer's score and comment. A guideline is one plain-language
rule distilled from traces, with the rows that support it, the condition it applies under and
the score reviewers give such outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Direction(StrEnum):
    TOO_LENIENT = "too_lenient"  # the judge scored higher than the reviewers
    TOO_HARSH = "too_harsh"  # the judge scored lower than the reviewers

    @property
    def label(self) -> str:
        return "judge too lenient" if self is Direction.TOO_LENIENT else "judge too harsh"

    @staticmethod
    def of(judge: float, human: float) -> Direction | None:
        """The direction of a gap; None when judge and human agree exactly."""
        if judge > human:
            return Direction.TOO_LENIENT
        if judge < human:
            return Direction.TOO_HARSH
        return None


@dataclass(frozen=True, slots=True)
class ReviewerNote:
    annotator: str
    score: float
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Trace:
    """One row as the reflection model sees it. ``row_id`` is the database id; texts may be
    trimmed to a token budget, and then ``trimmed`` says so."""

    row_id: int
    external_id: str
    input: str
    output: str
    judge_score: float
    human_score: float
    context: str | None = None
    judge_rationale: str | None = None
    reviewers: tuple[ReviewerNote, ...] = ()
    trimmed: bool = False

    @property
    def gap(self) -> float:
        return abs(self.judge_score - self.human_score)

    @property
    def direction(self) -> Direction | None:
        return Direction.of(self.judge_score, self.human_score)


class GuidelineKind(StrEnum):
    """What a guideline does to the rubric."""

    CLARIFIES = "clarifies_rubric"  # says how a point of the rubric applies
    NEW_CRITERION = "new_criterion"  # something the rubric does not mention
    PREFERENCE = "reviewer_preference"  # a taste of these reviewers, not of the rubric

    @property
    def label(self) -> str:
        return {
            GuidelineKind.CLARIFIES: "clarifies a rubric point",
            GuidelineKind.NEW_CRITERION: "new criterion",
            GuidelineKind.PREFERENCE: "reviewer preference",
        }[self]


@dataclass(frozen=True, slots=True)
class Guideline:
    """A rule for the judge. ``row_ids`` are the traces that support it; ``evidence`` says
    in a line why it was proposed (a score pattern, a reviewers' phrase). A reflection
    model also says when it applies (``applies_when``, an observable condition), what
    reviewers give such outputs (``target``: the lowest and highest score, equal for one
    point), its ``kind``, and rows it saw that speak against it (``counter_ids``)."""

    text: str
    direction: Direction
    row_ids: tuple[int, ...]
    evidence: str = ""
    applies_when: str = ""
    target: tuple[float, float] | None = None
    kind: GuidelineKind | None = None
    counter_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Distillation:
    """What a reflection engine returns: the guidelines, notes for the reader (such as
    "reviewers' words explain none of the disagreements") and which engine made them."""

    guidelines: tuple[Guideline, ...]
    engine: str
    notes: tuple[str, ...] = field(default=())
