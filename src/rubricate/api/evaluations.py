"""/api/v1/evaluations: list, show with per-metric coverage, rows page by page, judge
results, and each reviewer's calibration against the others."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from rubricate.api.auth import CallerUser
from rubricate.api.deps import Workspace
from rubricate.api.errors import responses
from rubricate.api.pagination import Page, PageParams, listed_page, page_of
from rubricate.api.paths import EvaluationName
from rubricate.api.reviewer_schemas import CalibrationOut
from rubricate.api.roles import Access, requires
from rubricate.api.schemas import (
    CoverageOut,
    EvaluationDetail,
    EvaluationOut,
    JudgeResultOut,
    RowOut,
    out_of,
)
from rubricate.domain.evaluations import Row

router = APIRouter(prefix="/evaluations", tags=["evaluations"])


def _row(row: Row) -> RowOut:
    return out_of(RowOut, row, id=row.external_id)


@router.get("", dependencies=[requires(Access.REVIEWER)], responses=responses())
def list_evaluations(rb: Workspace, paging: PageParams) -> Page[EvaluationOut]:
    """Every evaluation: source, rows, whether it is completed."""
    return page_of(rb.evaluations.list(), paging, EvaluationOut.model_validate)


@router.get("/{name}", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def get_evaluation(rb: Workspace, name: EvaluationName) -> EvaluationDetail:
    """The evaluation and, per metric, annotated, resolved and judged rows, annotations
    and reviewers."""
    detail = rb.evaluations.show(name)
    return out_of(
        EvaluationDetail,
        detail.evaluation,
        metrics=[CoverageOut.model_validate(c) for c in detail.metrics],
    )


@router.get("/{name}/rows", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def list_rows(rb: Workspace, name: EvaluationName, paging: PageParams) -> Page[RowOut]:
    """Its rows, in imported order."""
    total = rb.evaluations.get(name).row_count
    rows = rb.evaluations.rows(name, offset=paging.offset, limit=paging.limit)
    return Page(
        items=[_row(r) for r in rows], offset=paging.offset, limit=paging.limit, total=total
    )


@router.get(
    "/{name}/judge-results", dependencies=[requires(Access.REVIEWER)], responses=responses(404)
)
def list_judge_results(
    rb: Workspace,
    caller: CallerUser,
    name: EvaluationName,
    paging: PageParams,
    row: Annotated[str | None, Query(max_length=200, description="One row's id.")] = None,
    metric: Annotated[str | None, Query(max_length=100, description="One metric.")] = None,
) -> Page[JudgeResultOut]:
    """Judge results of the evaluation (of one row with ``?row=``, of one metric with
    ``?metric=``), every version and run kept. A blind review queue's rows are left out
    for its reviewers until they have reviewed them."""
    found = rb.evaluation_reads.judge_results(
        name, offset=paging.offset, limit=paging.limit, row=row, metric=metric, viewer=caller
    )
    return listed_page(found, paging, JudgeResultOut)


@router.get("/{name}/reviewers", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def reviewer_calibration(
    rb: Workspace,
    caller: CallerUser,
    name: EvaluationName,
    metric: Annotated[str, Query(min_length=1, max_length=100, description="The metric.")],
    delta: Annotated[
        float | None,
        Query(
            gt=0,
            le=1e6,
            description="Scores less than this apart agree (within-delta agreement); default "
            "one step of the scale (one label on a labels scale), a quarter of a continuous one.",
        ),
    ] = None,
) -> CalibrationOut:
    """Per reviewer: rows scored (count and share), agreement with each other reviewer
    (exact and within delta) and its mean, Krippendorff's alpha without them (above the
    group's: they pull it down) and mean offset (negative: harsher than the others); for
    admins, each reviewer's accuracy on review queues' gold rows."""
    found = rb.calibration.reviewers(name, metric, delta=delta, viewer=caller)
    return CalibrationOut.model_validate(found)
