"""What GET /api/v1/metrics/{name}/compare answers: two versions of a metric side by side
on one evaluation, each one's agreement with the resolved human scores on the same rows."""

from __future__ import annotations

from pydantic import Field

from rubricate.api.schemas import Out, out_of
from rubricate.domain.alignment import AgreementFigures
from rubricate.domain.alignment import Figure as Interval
from rubricate.service.version_comparison import VersionComparison, VersionSide


class VersionSideOut(Out):
    version: int
    scored: int = Field(description="Rows of the evaluation this version has a score for.")
    with_human: int = Field(description="Of those, rows with a resolved human score.")
    figures: AgreementFigures = Field(
        description="Agreement with the resolved human scores on the rows both versions "
        "scored (the same rows on both sides)."
    )


class VersionComparisonOut(Out):
    metric: str
    evaluation: str
    delta: float = Field(description="The gap that counts as a disagreement (within delta).")
    rows: int = Field(description="Rows both versions scored that have a resolved human score.")
    a: VersionSideOut
    b: VersionSideOut
    kappa_difference: Interval = Field(
        description="b's weighted kappa minus a's on the same rows, with a paired bootstrap "
        "95% interval (null when the scales differ or no row is shared)."
    )
    scale_changed: bool


def _side(side: VersionSide) -> VersionSideOut:
    return out_of(VersionSideOut, side, version=side.number)


def comparison_out(found: VersionComparison) -> VersionComparisonOut:
    return out_of(VersionComparisonOut, found, a=_side(found.a), b=_side(found.b))
