"""Metrics: the list, and each metric's page (versions and the Alignment section)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rubricate.api.deps import Workspace
from rubricate.web.session import CurrentUser
from rubricate.web.templating import page

router = APIRouter()


@router.get("/metrics")
def metrics_list(request: Request, rb: Workspace, user: CurrentUser) -> Response:
    return page(request, "metrics.html", metrics=rb.metrics.list())
