"""/api/v1/audit: the audit log, for admins. A page of events, newest first (of one
action, if asked), and the whole log as JSON lines, oldest first, streamed. The events
are written by the use cases that make the changes; this router only reads them
(service/audit.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import chain
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from rubricate.api.auth import CallerUser
from rubricate.api.deps import Workspace
from rubricate.api.errors import responses
from rubricate.api.pagination import Page, PageParams
from rubricate.api.roles import Access, requires
from rubricate.api.schemas import Out
from rubricate.domain.audit import AuditAction, AuditEvent
from rubricate.domain.users import User
from rubricate.service.workspace import Rubricate
from rubricate.util import batched

router = APIRouter(prefix="/audit", tags=["audit log"])

NDJSON = "application/x-ndjson"
LINES_PER_CHUNK = 500  # one write to the client per this many events, not one per line


class AuditEventOut(Out):
    id: int = Field(description="Increases with every event: the log's order.")
    at: datetime
    actor: str = Field(
        description="Who: a user's name, an API token's name, `cli:NAME` (the operating "
        "system's user of a CLI command) or `python` (the Python API, naming no one)."
    )
    action: AuditAction
    subject: str = Field(description='What changed, as people name it: "metric tone".')
    detail: dict[str, Any] = Field(description="The change's particulars, by action.")


def event_out(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut.model_validate(event)


ActionFilter = Annotated[AuditAction | None, Query(description="Only events of this action.")]


@router.get("", dependencies=[requires(Access.ADMIN)], responses=responses(403))
def list_events(
    rb: Workspace, caller: CallerUser, paging: PageParams, action: ActionFilter = None
) -> Page[AuditEventOut]:
    """Who changed what, and when: resolutions, accepts and rejects, guideline edits,
    metric versions, pins and queue decisions, newest first."""
    total, events = rb.audit.events(
        by=caller, offset=paging.offset, limit=paging.limit, action=action
    )
    return Page[AuditEventOut](
        items=[event_out(e) for e in events],
        offset=paging.offset,
        limit=paging.limit,
        total=total,
    )


def export_response(rb: Rubricate, user: User) -> StreamingResponse:
    """The whole log as a download of JSON lines, oldest first, for the API and the web.
    The first line is read here, before the response starts: a refusal or a database
    that cannot be read is an error response, not a download cut short."""
    lines = rb.audit.export_lines(by=user)
    first = next(lines, None)
    chunks: Iterator[str] = (
        "".join(group) for group in batched(chain([first] if first else [], lines), LINES_PER_CHUNK)
    )
    filename = f"rubricate-audit-{datetime.now(UTC):%Y-%m-%d}.jsonl"
    return StreamingResponse(
        chunks,
        media_type=NDJSON,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/export",
    dependencies=[requires(Access.ADMIN)],
    response_class=StreamingResponse,
    responses={
        **responses(403),
        200: {
            "description": "Every event, oldest first, one JSON object a line (the fields "
            "of the listing's items).",
            "content": {NDJSON: {"schema": {"type": "string"}}},
        },
    },
)
def export_events(rb: Workspace, caller: CallerUser) -> StreamingResponse:
    """The whole audit log as JSON lines (`application/x-ndjson`), oldest first, streamed."""
    return export_response(rb, caller)
