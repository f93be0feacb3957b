"""Response bodies of reviewer calibration, and of the warning a start or a preview of an
alignment carries when reviewers agree too little."""

from __future__ import annotations

from pydantic import Field

from rubricate.api.schemas import Figure, Out


class PairFiguresOut(Out):
    other: str = Field(description="The other reviewer.")
    shared: int = Field(description="Rows both scored.")
    exact: Figure = Field(description="Share of shared rows with equal scores; null: none shared.")
    within_delta: Figure = Field(description="Share of shared rows less than delta apart.")


class ReviewerFiguresOut(Out):
    reviewer: str
    units: int = Field(description="Rows this reviewer scored.")
    coverage: float = Field(description="Of the rows anyone scored, the share this one scored.")
    shared_units: int = Field(description="Rows this reviewer scored that another scored too.")
    exact: Figure = Field(description="Exact agreement, mean over the others sharing a row.")
    within_delta: Figure = Field(description="Within-delta agreement, mean over the others.")
    alpha_without: Figure = Field(
        description="Everyone's Krippendorff's alpha with this reviewer left out: above alpha "
        "means this reviewer pulls agreement down."
    )
    offset: Figure = Field(
        description="Mean of (this reviewer's score − the others' mean score) on shared rows, "
        "in the calibration's unit: negative is harsher, positive more lenient."
    )
    pairs: list[PairFiguresOut]


class GoldAccuracyOut(Out):
    reviewer: str
    reviews: int = Field(description="Reviews of gold rows.")
    exact: float = Field(description="The share equal to the gold score.")
    mean_error: float = Field(
        description="Mean absolute difference from the gold score, on the scale (label "
        "steps on a labels scale)."
    )


class CalibrationOut(Out):
    evaluations: list[str]
    metric: str
    level: str = Field(description="Krippendorff's level of measurement: ordinal or interval.")
    unit: str = Field(description="What offsets and delta count: points, or label steps.")
    delta: Figure
    rows: int = Field(description="Rows scored by anyone.")
    shared_rows: int = Field(description="Rows scored by two reviewers or more.")
    alpha: Figure = Field(description="Everyone's Krippendorff's alpha; null: nothing shared.")
    reviewers: list[ReviewerFiguresOut]
    gold: list[GoldAccuracyOut] = Field(
        description="Per reviewer, their reviews of review queues' gold rows: count, share "
        "equal to the gold score, mean absolute error."
    )


class PullingDownOut(Out):
    reviewer: str
    alpha_without: float


class ReviewerWarningOut(Out):
    alpha: float = Field(description="Reviewers' alpha on the rows the run would use.")
    threshold: float = Field(description="RUBRICATE_REVIEWER_ALPHA_WARNING.")
    reviewers: list[PullingDownOut] = Field(
        description="Whose removal raises alpha, the most first (at most three)."
    )
    message: str
