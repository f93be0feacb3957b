"""Reviewers' annotations and resolutions of one evaluation and metric:
/api/v1/evaluations/{evaluation}/metrics/{metric}/..."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from rubricate.api.auth import CallerUser, is_operator
from rubricate.api.deps import Workspace
from rubricate.api.errors import responses
from rubricate.api.pagination import Page, PageParams, listed_page
from rubricate.api.paths import EvaluationName, MetricName
from rubricate.api.roles import Access, requires
from rubricate.api.schemas import (
    AgreementOut,
    AnnotationIn,
    AnnotationOut,
    ResolutionOut,
    ResolveIn,
    ResolveReportOut,
    ResolveRowIn,
)
from rubricate.domain.errors import Forbidden
from rubricate.domain.users import User

router = APIRouter(prefix="/evaluations/{evaluation}/metrics/{metric}", tags=["annotations"])


def acting_as(request: Request, caller: User, named: str | None, field: str) -> str:
    """Whom a write is recorded for: the caller, unless an operator names someone else.
    A user's token naming another person is refused, so nobody overwrites another's work."""
    if named is None or named.strip() == caller.name or is_operator(request):
        return caller.name if named is None else named
    raise Forbidden(
        f"{field} must be you ({caller.name!r}), not {named.strip()!r}: "
        "only an operator's token (RUBRICATE_API_TOKENS) may write for someone else",
    )


@router.get("/annotations", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def list_annotations(
    rb: Workspace,
    caller: CallerUser,
    evaluation: EvaluationName,
    metric: MetricName,
    paging: PageParams,
    row: Annotated[str | None, Query(max_length=200, description="One row's id.")] = None,
) -> Page[AnnotationOut]:
    """Every reviewer's score and comment, in row order. On a blind review queue's rows a
    reviewer of the queue sees only their own until they have reviewed the row there."""
    found = rb.evaluation_reads.annotations(
        evaluation, metric, offset=paging.offset, limit=paging.limit, row=row, viewer=caller
    )
    return listed_page(found, paging, AnnotationOut)


@router.post(
    "/annotations",
    dependencies=[requires(Access.REVIEWER)],
    status_code=201,
    responses=responses(404),
)
def add_annotation(
    rb: Workspace,
    request: Request,
    caller: CallerUser,
    evaluation: EvaluationName,
    metric: MetricName,
    body: AnnotationIn,
) -> AnnotationOut:
    """One reviewer's score (a number or a label) for one row; it replaces that reviewer's
    earlier score of the row. A user's token annotates as that user (``annotator`` may be
    left out); only an operator's token may name another annotator (an import, a script)."""
    annotator = acting_as(request, caller, body.annotator, "annotator")
    rb.annotations.add(
        evaluation,
        body.row,
        metric,
        annotator=annotator,
        score=body.score,
        comment=body.comment,
    )
    found = rb.evaluation_reads.annotations(evaluation, metric, limit=500, row=body.row)
    added = next(a for a in found.items if a.annotator == annotator.strip())
    return AnnotationOut.model_validate(added)


@router.post("/resolutions", dependencies=[requires(Access.ADMIN)], responses=responses(403, 404))
def resolve_row(
    rb: Workspace,
    request: Request,
    evaluation: EvaluationName,
    metric: MetricName,
    body: ResolveRowIn,
    caller: CallerUser,
) -> ResolutionOut:
    """An admin's final value for one row; it replaces whatever resolved it before."""
    user = acting_as(request, caller, body.user, "user")
    value = rb.annotations.resolve_row(evaluation, body.row, metric, value=body.value, user=user)
    return ResolutionOut(
        row=body.row, metric=metric, value=value, resolved_by=f"user:{user.strip()}"
    )


@router.post("/resolve", dependencies=[requires(Access.ADMIN)], responses=responses(403, 404))
def resolve_by_policy(
    rb: Workspace,
    caller: CallerUser,
    evaluation: EvaluationName,
    metric: MetricName,
    body: ResolveIn,
) -> ResolveReportOut:
    """Resolve in bulk with a policy (admins only); rows it cannot decide stay for an
    admin."""
    report = rb.annotations.resolve(
        evaluation, metric, body.policy, replace=body.replace, by=caller.name
    )
    return ResolveReportOut.model_validate(report)


@router.get("/agreement", dependencies=[requires(Access.REVIEWER)], responses=responses(404))
def agreement(rb: Workspace, evaluation: EvaluationName, metric: MetricName) -> AgreementOut:
    """Krippendorff's alpha among reviewers and each pair's agreement."""
    return AgreementOut.model_validate(rb.annotations.agreement(evaluation, metric))
