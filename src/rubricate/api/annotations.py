"""Reviewers' annotations and resolutions of one evaluation and metric:
/api/v1/evaluations/{evaluation}/metrics/{metric}/..."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from rubricate.api import reads
from rubricate.api.auth import CallerUser
from rubricate.api.deps import Workspace
from rubricate.api.errors import responses
from rubricate.api.pagination import Page, PageParams, Paging
from rubricate.api.schemas import (
    AgreementOut,
    AnnotationIn,
    AnnotationOut,
    ResolutionOut,
    ResolveIn,
    ResolveReportOut,
    ResolveRowIn,
)

router = APIRouter(prefix="/evaluations/{evaluation}/metrics/{metric}", tags=["annotations"])

EvaluationName = Annotated[str, Path(min_length=1, max_length=200)]
MetricName = Annotated[str, Path(min_length=1, max_length=100)]


@router.get("/annotations", responses=responses(404))
def list_annotations(
    rb: Workspace,
    evaluation: EvaluationName,
    metric: MetricName,
    paging: PageParams,
    row: Annotated[str | None, Query(max_length=200, description="One row's id.")] = None,
) -> Page[AnnotationOut]:
    """Every reviewer's score and comment, in row order."""
    return reads.annotation_page(rb.db, evaluation, metric, paging, row=row)


@router.post("/annotations", status_code=201, responses=responses(404))
def add_annotation(
    rb: Workspace, evaluation: EvaluationName, metric: MetricName, body: AnnotationIn
) -> AnnotationOut:
    """One reviewer's score (a number or a label) for one row; it replaces that reviewer's
    earlier score of the row."""
    rb.annotations.add(
        evaluation,
        body.row,
        metric,
        annotator=body.annotator,
        score=body.score,
        comment=body.comment,
    )
    paging = Paging(offset=0, limit=500)
    found = reads.annotation_page(rb.db, evaluation, metric, paging, row=body.row)
    return next(a for a in found.items if a.annotator == body.annotator.strip())


@router.post("/resolutions", responses=responses(403, 404))
def resolve_row(
    rb: Workspace,
    evaluation: EvaluationName,
    metric: MetricName,
    body: ResolveRowIn,
    caller: CallerUser,
) -> ResolutionOut:
    """An admin's final value for one row; it replaces whatever resolved it before."""
    caller.require_admin("resolve a row")
    user = body.user or caller.name
    value = rb.annotations.resolve_row(evaluation, body.row, metric, value=body.value, user=user)
    return ResolutionOut(
        row=body.row, metric=metric, value=value, resolved_by=f"user:{user.strip()}"
    )


@router.post("/resolve", responses=responses(403, 404))
def resolve_by_policy(
    rb: Workspace,
    evaluation: EvaluationName,
    metric: MetricName,
    body: ResolveIn,
    caller: CallerUser,
) -> ResolveReportOut:
    """Resolve in bulk with a policy (admins only); rows it cannot decide stay for an
    admin."""
    caller.require_admin("resolve rows by a policy")
    report = rb.annotations.resolve(evaluation, metric, body.policy, replace=body.replace)
    return ResolveReportOut.model_validate(report)


@router.get("/agreement", responses=responses(404))
def agreement(rb: Workspace, evaluation: EvaluationName, metric: MetricName) -> AgreementOut:
    """Krippendorff's alpha among reviewers and each pair's agreement."""
    return AgreementOut.model_validate(rb.annotations.agreement(evaluation, metric))
