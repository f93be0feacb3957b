"""Review queues: which rows go to reviewers, how many reviews each needs, and what a
reviewer may see of a row before reviewing it (nothing of others' scores in a blind
queue)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from rubricate.domain.errors import InvalidInput

MAX_REVIEWS_PER_ROW = 5
MAX_REVIEWERS = 200
DEFAULT_LEASE_SECONDS = 900  # a row stays a reviewer's for 15 minutes, then may go on
LEASE_SECONDS_RANGE = (30, 86_400)
COMMENT_MAX_CHARS = 4_000
MAX_GOLD_RATE = 0.5  # at most every other row handed out is a gold row
NOTE_MAX_CHARS = 2_000  # a gold row's note


class Selection(StrEnum):
    """Which rows of the evaluation a queue holds."""

    ALL = "all"
    UNRESOLVED = "unresolved"  # no resolved human value for the metric yet
    DISAGREEING = "disagreeing"  # the judge's newest score and the human value differ by delta
    RANDOM = "random"  # a random sample of N rows
    STRATIFIED = "stratified"  # N rows spread evenly over the judge's scores
    SAMPLER = "sampler"  # the N rows whose review would teach the alignment most


class AssignmentState(StrEnum):
    LEASED = "leased"
    SUBMITTED = "submitted"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class QueueRequest:
    """What an admin asks for when creating a queue."""

    name: str
    evaluation: str
    metric: str
    reviewers: tuple[str, ...]
    selection: Selection = Selection.ALL
    sample_size: int | None = None  # random, stratified and sampler: how many rows
    delta: float | None = None  # disagreeing and sampler: the metric's default delta when None
    reviews_per_row: int = 1
    blind: bool = False
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    seed: int = 0
    gold_rate: float = 0.0  # the share of rows handed out that are gold rows (0: none)

    def checked(self) -> QueueRequest:
        if not self.reviewers:
            raise InvalidInput("a queue needs at least one reviewer", field="reviewers")
        if len(self.reviewers) > MAX_REVIEWERS:
            raise InvalidInput(f"at most {MAX_REVIEWERS} reviewers", field="reviewers")
        if not 1 <= self.reviews_per_row <= MAX_REVIEWS_PER_ROW:
            raise InvalidInput(
                f"reviews per row must be 1 to {MAX_REVIEWS_PER_ROW}", field="reviews_per_row"
            )
        if self.reviews_per_row > len(set(self.reviewers)):
            raise InvalidInput(
                f"{self.reviews_per_row} reviews per row need as many reviewers; "
                f"{len(set(self.reviewers))} are assigned",
                field="reviews_per_row",
            )
        low, high = LEASE_SECONDS_RANGE
        if not low <= self.lease_seconds <= high:
            raise InvalidInput(f"a lease lasts {low} to {high} seconds", field="lease_seconds")
        sampled = self.selection in (Selection.RANDOM, Selection.STRATIFIED, Selection.SAMPLER)
        if sampled and (self.sample_size is None or self.sample_size < 1):
            raise InvalidInput(
                f"a {self.selection.value} queue needs the number of rows", field="sample_size"
            )
        if self.delta is not None and not self.delta > 0:
            raise InvalidInput("delta must be above 0", field="delta")
        if not 0 <= self.gold_rate <= MAX_GOLD_RATE:
            raise InvalidInput(f"the gold rate is 0 to {MAX_GOLD_RATE:g}", field="gold_rate")
        return self

    def describe(self) -> str:
        """The selection in words, as a queue's page shows it."""
        match self.selection:
            case Selection.RANDOM | Selection.STRATIFIED:
                return f"{self.selection.value} sample of {self.sample_size} (seed {self.seed})"
            case Selection.SAMPLER:
                delta = "" if self.delta is None else f", delta {self.delta:g}"
                return f"sampler's {self.sample_size} rows (seed {self.seed}{delta})"
            case Selection.DISAGREEING if self.delta is not None:
                return f"disagreeing by at least {self.delta:g}"
            case _:
                return self.selection.value


def gold_due(handed: int, gold_given: int, rate: float) -> bool:
    """Whether the next row handed to a reviewer is a gold row: after ``k`` rows handed
    out, ``floor(k * rate)`` of them were gold (rate 0.25: the 4th, 8th, 12th...); a gold
    row owed when none was left is given as soon as one is."""
    return rate > 0 and gold_given < math.floor((handed + 1) * rate + 1e-9)


@dataclass(frozen=True, slots=True)
class GoldScore:
    """A row's known right score on a metric, set by an admin, to measure reviewers by."""

    evaluation: str
    metric: str
    row_id: str  # the row's id in the user's files
    score: float
    note: str | None
    set_by: str
    set_at: datetime


@dataclass(frozen=True, slots=True)
class GoldAccuracy:
    """A reviewer's reviews of gold rows against their gold scores."""

    reviewer: str
    reviews: int
    exact: float  # the share of reviews equal to the gold score
    mean_error: float  # mean absolute difference, on the scale (label steps on labels)


def gold_accuracy(reviewer: str, pairs: Sequence[tuple[float, float]]) -> GoldAccuracy | None:
    """``reviewer``'s accuracy from (their score, the gold score) pairs; None without any."""
    if not pairs:
        return None
    errors = [abs(score - gold) for score, gold in pairs]
    exact = sum(1 for e in errors if e < 1e-9) / len(errors)
    return GoldAccuracy(reviewer, len(errors), exact, sum(errors) / len(errors))


@dataclass(frozen=True, slots=True)
class ReviewerProgress:
    reviewer: str
    reviewed: int  # submitted and counted
    beyond: int  # submitted after the row had its reviews
    skipped: int
    leased: int  # rows they hold now
    median_seconds: float | None  # from a row's lease to its review
    gold: GoldAccuracy | None = None  # their reviews of the queue's gold rows


@dataclass(frozen=True, slots=True)
class Queue:
    name: str
    evaluation: str
    metric: str
    selection: str
    reviewers: tuple[str, ...]
    reviews_per_row: int
    blind: bool
    lease_seconds: int
    created_by: str
    created_at: datetime
    closed: bool
    rows: int
    rows_done: int  # rows with all their reviews
    reviews_counted: int
    reviews_needed: int
    gold_rate: float = 0.0

    @property
    def finished(self) -> bool:
        return self.rows_done == self.rows


@dataclass(frozen=True, slots=True)
class Review:
    reviewer: str
    score: float | None
    comment: str | None
    state: AssignmentState
    beyond: bool
    seconds: float | None
    submitted_at: datetime | None
    gold: bool = False  # a review of a gold row: calibration only, never counted


@dataclass(frozen=True, slots=True)
class Assignment:
    """A row given to a reviewer: what the reviewer's page shows. In a blind queue the
    judge's score and the other reviews are withheld (None and empty) until this reviewer
    has submitted."""

    queue: str
    row_id: str  # the row's id in the user's files
    position: int
    rows: int
    input: str
    output: str
    context: str | None
    expected: str | None
    rubric: str  # the metric's prompt as it stands
    notes: str  # its guidelines
    scale: str  # the scale in words
    expires_at: datetime
    judge_score: float | None
    others: tuple[Review, ...] = field(default=())
    withheld: bool = False  # blind: the judge's score and others' reviews are hidden


@dataclass(frozen=True, slots=True)
class Submitted:
    counted: bool  # False: the row had its reviews; kept, marked beyond the number
    row_id: str
    score: float


@dataclass(frozen=True, slots=True)
class Conflict:
    """A row whose counted reviews differ by at least the metric's delta."""

    row_id: str
    reviews: tuple[Review, ...]
    spread: float
    resolved: float | None
