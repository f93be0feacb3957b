"""Verify again on a run's page: an Aligned run whose guidelines were edited since
verification is checked again by a worker (the same use case and queueing as
POST /api/v1/alignment-runs/{id}/verify and `rubricate align verify`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rubricate.api.deps import Workspace
from rubricate.api.paths import RunIdPath
from rubricate.api.queueing import Control, Queue
from rubricate.api.roles import Access
from rubricate.web.pages.common import is_htmx, see_other
from rubricate.web.pages.runs import Embedded, panel_response
from rubricate.web.session import CurrentUser, requires

router = APIRouter()


@router.post("/alignment-runs/{run_id}/verify", dependencies=[requires(Access.REVIEWER)])
def verify_again(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    queue: Queue,
    control: Control,
    run_id: RunIdPath,
    embedded: Embedded = "",
) -> Response:
    """Queue the check; the panel then says "Verifying again…" and polls until it ends."""
    control.verify_again(run_id)
    if not is_htmx(request):
        return see_other(f"/alignment-runs/{run_id}")
    response = panel_response(request, rb, user, run_id, embedded=bool(embedded), queue=queue)
    response.headers["HX-Trigger"] = "runs-changed"
    return response
