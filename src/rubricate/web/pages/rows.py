"""One row of an evaluation on a page of its own (``/evaluations/NAME/row?id=ROW``): what
an alignment run's guidelines link to for each row that supports them. The row is shown
as on the evaluation's page (texts, judge, reviewers, resolved value), with the same forms.
The row's id is a query parameter, since a user's id may hold any character, "/" too."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from rubricate.api.deps import Workspace
from rubricate.api.paths import EvaluationName
from rubricate.api.roles import Access
from rubricate.web.pages.evaluations import _context, _pick_metric, page_url
from rubricate.web.session import CurrentUser, requires
from rubricate.web.templating import page

router = APIRouter()


def row_url(evaluation: str, row: str, metric: str | None = None) -> str:
    """The row's page; ``metric``: the one whose scores it shows."""
    query = {"id": row, **({"metric": metric} if metric else {})}
    return f"{page_url(evaluation)}/row?{urlencode(query)}"


@router.get("/evaluations/{name}/row", dependencies=[requires(Access.REVIEWER)])
def row_page(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    name: EvaluationName,
    row: Annotated[str, Query(alias="id", min_length=1, max_length=200)],
    metric: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    detail = rb.evaluations.show(name)
    chosen = _pick_metric(detail.metrics, metric or None, name)
    context: dict[str, Any] = {
        "detail": detail,
        "row_id": row,
        "metric": chosen,
        "metric_urls": {c.metric: row_url(name, row, c.metric) for c in detail.metrics},
        "evaluation_url": page_url(name, metric=chosen),
    }
    if chosen is None:
        return page(request, "evaluation_row_page.html", **context)
    rows = _context(rb, name, chosen, user)
    view = rb.evaluation_reads.row(name, chosen, row, viewer=user)
    return page(request, "evaluation_row_page.html", rows=rows, view=view, **context)
