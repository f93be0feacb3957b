"""/api/v1/gold: gold rows, an admin's known right scores of rows on a metric, which
review queues mix into reviewers' streams at their gold rate. Only admins read or change
them: a reviewer never sees a gold score, nor which row is gold."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from rubricate.api.auth import CallerUser
from rubricate.api.deps import Workspace
from rubricate.api.errors import responses
from rubricate.api.pagination import Page, PageParams, page_of
from rubricate.api.paths import EvaluationName, RowIdPath
from rubricate.api.queue_schemas import GoldIn, GoldOut
from rubricate.api.roles import Access, requires

router = APIRouter(prefix="/gold", tags=["review queues"])

ROW = "/{evaluation}/rows/{row_id:path}"
MetricQuery = Annotated[str, Query(min_length=1, max_length=100, description="The metric.")]


@router.get("/{evaluation}", dependencies=[requires(Access.ADMIN)], responses=responses(403, 404))
def list_gold(
    rb: Workspace,
    caller: CallerUser,
    evaluation: EvaluationName,
    metric: MetricQuery,
    paging: PageParams,
) -> Page[GoldOut]:
    """The evaluation's gold rows on the metric, in row order."""
    found = rb.gold.list(evaluation, metric, by=caller)
    return page_of(found, paging, GoldOut.model_validate)


@router.put(f"{ROW}/score", dependencies=[requires(Access.ADMIN)], responses=responses(403, 404))
def set_gold(
    rb: Workspace, caller: CallerUser, evaluation: EvaluationName, row_id: RowIdPath, body: GoldIn
) -> GoldOut:
    """Make a row gold on ``metric`` with its known right score (a number on the scale or a
    label) and an optional note, or change them. Queues on the metric hand it out as a
    gold row from now on (never one of their own rows)."""
    found = rb.gold.set(evaluation, body.metric, row_id, body.score, note=body.note, by=caller)
    return GoldOut.model_validate(found)


@router.delete(
    f"{ROW}/score",
    dependencies=[requires(Access.ADMIN)],
    status_code=204,
    responses=responses(403, 404),
)
def remove_gold(
    rb: Workspace,
    caller: CallerUser,
    evaluation: EvaluationName,
    row_id: RowIdPath,
    metric: MetricQuery,
) -> Response:
    """The row is gold no more; ``404`` if it was not gold on the metric."""
    rb.gold.remove(evaluation, metric, row_id, by=caller)
    return Response(status_code=204)
