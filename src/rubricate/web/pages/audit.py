"""The audit log on the web, for admins: who changed what and when, newest first, 50 a
page, of one action if the filter says so, and the whole log as a download of JSON lines
(the API's own export). The events and the admin check are the use case's (rb.audit)."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from rubricate.api.audit import export_response
from rubricate.api.deps import Workspace
from rubricate.api.roles import Access
from rubricate.domain.audit import AuditAction
from rubricate.web.pages.common import PageNumber
from rubricate.web.session import CurrentUser, requires
from rubricate.web.templating import page

router = APIRouter()

PAGE_SIZE = 50
VALUE_CHARS = 200  # a longer detail value (a guideline's text) is cut here; the export has it

ActionChoice = Annotated[str, Query(max_length=50)]


def detail_text(detail: dict[str, Any]) -> str:
    """A detail as compact ``key=value`` text: ``metric=tone version=2``; text with spaces
    is quoted, a list is comma separated."""
    return " ".join(f"{key}={_value(value)}" for key, value in detail.items())


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_value(v) for v in value)
    if isinstance(value, str):
        text = value if len(value) <= VALUE_CHARS else value[:VALUE_CHARS] + "…"
        plain = text and not any(c.isspace() or c in "\"'=" for c in text)
        return text if plain else json.dumps(text, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def audit_url(number: int = 1, action: str = "") -> str:
    query = {k: v for k, v in (("action", action), ("page", number)) if v and v != 1}
    return "/audit" + (f"?{urlencode(query)}" if query else "")


@router.get("/audit", dependencies=[requires(Access.ADMIN)])
def audit_page(
    request: Request,
    rb: Workspace,
    user: CurrentUser,
    number: PageNumber = 1,
    action: ActionChoice = "",
) -> Response:
    """A page of the log; a page past the end shows the last one."""
    chosen = action or None  # the select's "All actions" sends an empty value
    total, events = rb.audit.events(
        by=user, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE, action=chosen
    )
    last = max(1, math.ceil(total / PAGE_SIZE))
    if number > last:
        number = last
        _, events = rb.audit.events(
            by=user, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE, action=chosen
        )
    return page(
        request,
        "audit.html",
        events=events,
        total=total,
        number=number,
        last=last,
        first=(number - 1) * PAGE_SIZE + 1,
        action=action,
        actions=list(AuditAction),
        detail_text=detail_text,
        prev_url=audit_url(number - 1, action) if number > 1 else None,
        next_url=audit_url(number + 1, action) if number < last else None,
    )


@router.get("/audit/export", dependencies=[requires(Access.ADMIN)])
def audit_export(rb: Workspace, user: CurrentUser) -> StreamingResponse:
    """The whole log as JSON lines, oldest first, downloaded."""
    return export_response(rb, user)
