"""Request and response bodies of review queues (/api/v1/queues): the HTTP contract,
declared apart from domain/queues.py's types so that the domain may change without
changing the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from rubricate.api.reviewer_schemas import GoldAccuracyOut
from rubricate.api.schemas import Amount, In, MetricField, Name, Out, RunId, ScoreIn, Seed
from rubricate.domain.queues import (
    COMMENT_MAX_CHARS,
    DEFAULT_LEASE_SECONDS,
    LEASE_SECONDS_RANGE,
    MAX_GOLD_RATE,
    MAX_REVIEWERS,
    MAX_REVIEWS_PER_ROW,
    NOTE_MAX_CHARS,
    AssignmentState,
    QueueRequest,
    Selection,
)
from rubricate.service.queues import MAX_QUEUE_ROWS

_LEASE_MIN, _LEASE_MAX = LEASE_SECONDS_RANGE
Comment = Annotated[str, Field(max_length=COMMENT_MAX_CHARS)]


class QueueIn(In):
    name: RunId = Field(description="1-64 letters, digits, '_', '-' or '.'.")
    evaluation: Name
    metric: MetricField
    reviewers: Annotated[list[Name], Field(min_length=1, max_length=MAX_REVIEWERS)] = Field(
        description="Who reviews its rows (user names)."
    )
    selection: Selection = Field(
        default=Selection.ALL,
        description="all; unresolved (no resolved human value yet); disagreeing (the judge "
        "and the resolved value differ by `delta`); random or stratified (by the judge's "
        "score): a sample of `sample_size` rows; sampler: the `sample_size` rows whose review "
        "would teach an alignment most (rows the active version scored that no one reviewed "
        "yet and no open queue on the metric holds).",
    )
    sample_size: Annotated[int, Field(ge=1, le=MAX_QUEUE_ROWS)] | None = Field(
        default=None, description="random, stratified and sampler: how many rows."
    )
    delta: Amount | None = Field(
        default=None,
        description="disagreeing and sampler: how far apart; default one step of the scale.",
    )
    reviews_per_row: Annotated[int, Field(ge=1, le=MAX_REVIEWS_PER_ROW)] = 1
    blind: bool = Field(
        default=False,
        description="Reviewers see neither the judge's score nor others' reviews of a row "
        "until they have submitted theirs (until the queue is closed).",
    )
    lease_seconds: Annotated[int, Field(ge=_LEASE_MIN, le=_LEASE_MAX)] = Field(
        default=DEFAULT_LEASE_SECONDS,
        description="How long a row given out stays its reviewer's before it may go on.",
    )
    seed: Seed = 0
    gold_rate: Annotated[float, Field(ge=0, le=MAX_GOLD_RATE)] = Field(
        default=0.0,
        description="The share of the rows handed to each reviewer that are gold rows of the "
        "evaluation (see /gold): 0.25 is one in four. Reviews of gold rows count toward "
        "nothing but the reviewer's accuracy.",
    )

    def request(self) -> QueueRequest:
        """The body is the request, field for field (reviewers as a tuple)."""
        fields = self.model_dump(exclude={"reviewers"})
        return QueueRequest(**fields, reviewers=tuple(self.reviewers))


class ReviewIn(In):
    score: ScoreIn
    comment: Comment | None = None


class QueueOut(Out):
    name: str
    evaluation: str
    metric: str
    selection: str = Field(description="The rows it holds, in words.")
    reviewers: list[str]
    reviews_per_row: int
    blind: bool
    lease_seconds: int
    created_by: str
    created_at: datetime
    closed: bool
    rows: int
    rows_done: int = Field(description="Rows with all their reviews.")
    reviews_counted: int
    reviews_needed: int
    finished: bool
    gold_rate: float = Field(description="The share of rows handed out that are gold rows.")


class GoldIn(In):
    metric: MetricField
    score: ScoreIn
    note: Annotated[str, Field(max_length=NOTE_MAX_CHARS)] | None = None


class GoldOut(Out):
    evaluation: str
    metric: str
    row_id: str = Field(description="The row's id in the user's files.")
    score: float = Field(description="The known right score.")
    note: str | None
    set_by: str
    set_at: datetime


class ReviewerProgressOut(Out):
    reviewer: str
    reviewed: int = Field(description="Reviews submitted that count.")
    beyond: int = Field(description="Reviews submitted after the row had its reviews: kept.")
    skipped: int
    leased: int = Field(description="Rows the reviewer holds now.")
    median_seconds: float | None = Field(description="From a row given out to its review.")
    gold: GoldAccuracyOut | None = Field(
        description="Their reviews of the queue's gold rows; null before the first."
    )


class QueueDetailOut(QueueOut):
    progress: list[ReviewerProgressOut]


class ReviewOut(Out):
    reviewer: str
    score: float | None
    comment: str | None
    state: AssignmentState
    beyond: bool = Field(description="Submitted after the row had its reviews: not counted.")
    seconds: float | None = Field(description="From the row given out to this review.")
    submitted_at: datetime | None


class RowReviewOut(ReviewOut):
    row_id: str
    gold: bool = Field(description="A review of a gold row: counted toward nothing.")


class AssignmentOut(Out):
    queue: str
    row_id: str = Field(description="The row's id in the user's files.")
    position: int
    rows: int = Field(description="Rows in the queue.")
    input: str
    output: str
    context: str | None
    expected: str | None
    rubric: str = Field(description="The metric's prompt as it stands.")
    notes: str = Field(description="Its guidelines.")
    scale: str = Field(description="The scale in words.")
    expires_at: datetime = Field(description="The row is the caller's until then.")
    judge_score: float | None = Field(description="null in a blind queue until you submit.")
    others: list[ReviewOut] = Field(description="Others' reviews; empty in a blind queue.")
    withheld: bool = Field(description="Blind: the judge's score and others' reviews hidden.")


class SubmittedOut(Out):
    row_id: str
    score: float
    counted: bool = Field(
        description="false: the row had its reviews already (a late review); it is kept, "
        "marked beyond the number."
    )


class ConflictOut(Out):
    row_id: str
    reviews: list[ReviewOut] = Field(description="The counted reviews.")
    spread: float = Field(description="Highest minus lowest counted score.")
    resolved: float | None = Field(description="The row's resolved value, if it has one.")
