"""The connectors from the REST API, admins only, and only toward the connections an admin
configured (``[connections.NAME]`` in the settings: a Langfuse project or an MLflow
tracking server over http(s)). No body or query names a location: the server never
fetches a URL a caller chose, and ``file:``/``sqlite:`` stores stay the command line's.

- ``GET /api/v1/connections``: each connection's name, kind and host, and whether the
  environment variables of its keys are set (never their values).
- ``POST /api/v1/connections/{name}/import``: the same import as ``rubricate import
  langfuse|mlflow`` (rubricate.integrations), answered with its report; all or nothing,
  ``dry_run`` counts and keeps nothing. Synchronous: the answer comes when it is done.
- ``POST /api/v1/connections/{name}/export``: a metric version out, as ``rubricate export
  langfuse|mlflow`` (a Langfuse prompt version with a label, and optionally the judge
  scores; an MLflow judge in its prompt registry, or the judge scores as feedback).

The use cases are rubricate.integrations.connections', which the web's Connections page
calls too; here only the answers' shapes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from rubricate.api.connector_schemas import (
    ConnectionOut,
    ExportOut,
    KeyVariableOut,
    LangfuseExportBody,
    LangfuseImportBody,
    LangfuseImportOut,
    LangfusePromptOut,
    LangfuseScoresOut,
    MlflowExportBody,
    MlflowImportBody,
    MlflowImportOut,
    MlflowPromptOut,
    MlflowScoresOut,
    body_schema,
)
from rubricate.api.deps import Workspace
from rubricate.api.errors import responses
from rubricate.api.pagination import Page, PageParams, page_of
from rubricate.api.roles import Access, requires
from rubricate.integrations import connections
from rubricate.settings import Connection

router = APIRouter(prefix="/connections", tags=["connections"])

ConnectionName = Annotated[
    str, Path(min_length=1, max_length=200, description="A connection of the settings.")
]
JsonObject = Annotated[dict[str, Any], Body()]


def _out(item: tuple[str, Connection]) -> ConnectionOut:
    name, connection = item
    keys = [KeyVariableOut.model_validate(k) for k in connections.key_variables(connection)]
    return ConnectionOut(name=name, kind=connection.kind, host=connection.location, keys=keys,
                         ready=connections.ready(connection))  # fmt: skip


@router.get("", dependencies=[requires(Access.ADMIN)], responses=responses(403))
def list_connections(rb: Workspace, paging: PageParams) -> Page[ConnectionOut]:
    """The connections an admin configured: name, kind, host, and whether each key
    variable is set (its value is never shown)."""
    return page_of(sorted(rb.settings.connections.items()), paging, _out)


@router.post(
    "/{name}/import",
    dependencies=[requires(Access.ADMIN)],
    responses=responses(403, 404, 409),
    openapi_extra=body_schema(LangfuseImportBody, MlflowImportBody),
)
def import_from(
    rb: Workspace, name: ConnectionName, body: JsonObject
) -> LangfuseImportOut | MlflowImportOut:
    """Import from the connection, as `rubricate import langfuse|mlflow` does, into an
    evaluation (created when new); the body is a Langfuse or an MLflow import's, by the
    connection's kind. All or nothing; importing again adds only what is new."""
    report = connections.import_from(rb, name, body)
    if hasattr(report, "host"):  # a Langfuse import's report names its host
        return LangfuseImportOut.model_validate(report)
    return MlflowImportOut.model_validate(report)


@router.post(
    "/{name}/export",
    dependencies=[requires(Access.ADMIN)],
    responses=responses(403, 404, 409),
    openapi_extra=body_schema(LangfuseExportBody, MlflowExportBody),
)
def export_to(rb: Workspace, name: ConnectionName, body: JsonObject) -> ExportOut:
    """A metric version out to the connection, as `rubricate export langfuse|mlflow` does:
    Langfuse, a new prompt version with a label (and with `scores`, that evaluation's judge
    scores of the version); MLflow, the version registered as a judge's instructions (or
    with `scores`, the judge scores logged as feedback instead). Repeating it sends nothing
    new."""
    sent = connections.export_to(rb, name, body)
    langfuse = rb.settings.connections[name].kind == "langfuse"
    prompt_out = LangfusePromptOut if langfuse else MlflowPromptOut
    scores_out = LangfuseScoresOut if langfuse else MlflowScoresOut
    return ExportOut(
        prompt=None if sent.prompt is None else prompt_out.model_validate(sent.prompt),
        scores=None if sent.scores is None else scores_out.model_validate(sent.scores),
    )
