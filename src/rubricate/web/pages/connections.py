"""Connections, for admins: the Langfuse projects and MLflow tracking servers an admin
configured in the settings (``[connections.NAME]``), each with whether the variables of its
keys are set (never their values), and an Import form per connection. The import is the
REST API's and the command line's (rubricate.integrations.connections.import_from): the
same checks, all of it or nothing; Dry run counts and keeps nothing. The page shows the
report (what came in, what changed at the source and was kept as stored, what was
skipped) or the error, naming what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from rubricate.api.connectors import ConnectionName
from rubricate.api.deps import Workspace
from rubricate.api.errors import status_of
from rubricate.api.roles import Access
from rubricate.domain.errors import InvalidInput, RubricateError
from rubricate.integrations import connections
from rubricate.integrations.langfuse import LangfusePromptReport
from rubricate.service.workspace import Rubricate
from rubricate.web.pages.common import problem
from rubricate.web.session import CSRF_FIELD, requires
from rubricate.web.templating import page

router = APIRouter()

SOURCES = {"langfuse": "Langfuse", "mlflow": "MLflow"}


def said(error: RubricateError) -> str:
    """``error`` as the page says it: its message, after the field it names."""
    text = problem(error)
    field = error.field if isinstance(error, InvalidInput) else None
    return text if not field or text.startswith(f"{field}:") else f"{field}: {text}"


@dataclass(frozen=True)
class ConnectionView:
    name: str
    kind: str  # langfuse or mlflow
    source: str  # Langfuse or MLflow, as the page says it
    host: str  # the Langfuse host or the MLflow tracking URI (never with credentials)
    keys: list[connections.KeyVariable]
    ready: bool


def configured(rb: Rubricate) -> list[ConnectionView]:
    """The connections of the settings, by name."""
    found = sorted(rb.settings.connections.items())
    return [
        ConnectionView(
            name,
            c.kind,
            SOURCES[c.kind],
            c.location,
            connections.key_variables(c),
            connections.ready(c),
        )
        for name, c in found
    ]


async def posted(request: Request, *skipped: str) -> dict[str, Any]:
    """The fields a form posted and filled in (not the CSRF token, nor ``skipped``): the
    request of a connection's use case, read as its kind's model there."""
    form = await request.form()
    return {
        key: value.strip()
        for key, value in form.items()
        if key != CSRF_FIELD and key not in skipped and isinstance(value, str) and value.strip()
    }


@router.get("/connections", dependencies=[requires(Access.ADMIN)])
def connections_page(request: Request, rb: Workspace) -> Response:
    return page(request, "connections.html", connections=configured(rb), posted=None)


@router.post("/connections/{name}/import", dependencies=[requires(Access.ADMIN)])
async def import_from(request: Request, rb: Workspace, name: ConnectionName) -> Response:
    """Import (or with Dry run, count) from the connection; the page again with the report,
    or with the error and the form as it was filled in."""
    asked = await posted(request)
    shown: dict[str, Any] = {"name": name, "values": asked, "report": None, "error": None}
    status = 200
    try:
        shown["report"] = await run_in_threadpool(connections.import_from, rb, name, asked)
    except RubricateError as error:
        shown["error"], status = said(error), status_of(error)
    return page(request, "connections.html", status_code=status,
                connections=configured(rb), posted=shown)  # fmt: skip


def sent_text(name: str, sent: connections.Exported) -> str:
    """One line on what Send to <connection> did (a metric version's prompt or judge)."""
    report = sent.prompt
    if report is None:  # only scores were asked for
        return f"Sent the judge scores to {name}."
    what = f"{report.metric} v{report.version}"
    if isinstance(report, LangfusePromptReport):
        place = (f"version {report.langfuse_version} of the Langfuse prompt "
                 f"{report.prompt_name!r}, labelled {report.label}")  # fmt: skip
    else:
        alias = f", alias {report.alias}" if report.alias else ""
        place = (f"version {report.prompt_version} of the MLflow prompt "
                 f"{report.prompt_name!r}{alias}")  # fmt: skip
    if report.created:
        return f"Sent {what} to {name}: created {place}."
    return f"Nothing sent to {name}: {place} holds {what} already."
