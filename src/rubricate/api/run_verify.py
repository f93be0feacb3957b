"""POST /api/v1/alignment-runs/{id}/verify: verify an Aligned run's guidelines again after
edits, by a worker (the run stays Aligned; GET the run for the new figures)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from rubricate.api.errors import responses
from rubricate.api.paths import RunIdPath
from rubricate.api.queueing import Control, queued_message
from rubricate.api.roles import Access, requires

router = APIRouter(prefix="/alignment-runs", tags=["alignment runs"])


class QueuedVerification(BaseModel):
    run_id: str
    queued: bool
    alive_workers: int
    message: str


@router.post(
    "/{run_id}/verify",
    dependencies=[requires(Access.REVIEWER)],
    status_code=202,
    responses=responses(404, 409, 422, 503),
)
def verify_alignment_run(control: Control, run_id: RunIdPath) -> QueuedVerification:
    """Verify the run's guidelines again as they stand after edits: its judge model scores
    its held-out rows afresh, with the same plan and budget. Guidelines edited since the
    last check read ``verified: false`` until this has run. 409 when the run is not
    Aligned, was accepted or rejected, or has no guidelines; 422 without a judge model."""
    run = control.verify_again(run_id)
    alive = control.alive_workers()
    return QueuedVerification(
        run_id=run.id, queued=True, alive_workers=alive, message=queued_message(alive)
    )
