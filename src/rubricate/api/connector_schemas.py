"""The bodies and answers of the connector routes (api/connectors.py). A body names no
location: the host is the connection's, set by an admin; any other field is refused."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from rubricate.api.schemas import ImportReportOut, Out
from rubricate.integrations.connections import (
    LangfuseExport,
    LangfuseImport,
    MlflowExport,
    MlflowImport,
)

# The bodies are the use cases' requests (rubricate.integrations.connections), read by
# the connection's kind; here under the names of the API's documentation.
LangfuseImportBody = LangfuseImport
MlflowImportBody = MlflowImport
LangfuseExportBody = LangfuseExport
MlflowExportBody = MlflowExport


def body_schema(*models: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route that takes one of ``models`` (by the connection's
    kind; the handler reads the body as the one its connection takes)."""
    shapes = [model.model_json_schema(by_alias=True) for model in models]
    content = {"application/json": {"schema": {"anyOf": shapes}}}
    return {"requestBody": {"required": True, "content": content}}


# -- answers -----------------------------------------------------------------------------


class KeyVariableOut(Out):
    variable: str  # the environment variable's name; its value is never shown
    set: bool
    required: bool


class ConnectionOut(BaseModel):
    name: str
    kind: Literal["langfuse", "mlflow"]
    host: str  # the Langfuse host or the MLflow tracking URI (never with credentials)
    keys: list[KeyVariableOut]
    ready: bool  # every required key variable is set


class ChangedScoreOut(Out):
    score_id: str
    trace_id: str
    kind: str
    by: str
    stored: float | None
    langfuse: float | None
    comment_changed: bool


class ChangedAssessmentOut(Out):
    assessment_id: str
    trace_id: str
    kind: str
    by: str
    stored: float | None
    mlflow: float | None
    comment_changed: bool


class LangfuseImportOut(ImportReportOut):
    host: str
    scores_read: int
    traces_fetched: int
    scores_changed: list[ChangedScoreOut]
    scores_skipped: dict[str, int]


class MlflowImportOut(ImportReportOut):
    tracking_uri: str
    experiment: str
    traces_read: int
    assessments_changed: list[ChangedAssessmentOut]
    traces_skipped: dict[str, int]
    assessments_skipped: dict[str, int]


class LangfusePromptOut(Out):
    host: str
    metric: str
    version: int
    prompt_name: str
    prompt_type: str
    label: str
    langfuse_version: int
    created: bool


class LangfuseScoresOut(Out):
    host: str
    evaluation: str
    metric: str
    version: int
    score_name: str
    pushed: int
    skipped_not_langfuse: int
    skipped_errors: int


class MlflowPromptOut(Out):
    tracking_uri: str
    metric: str
    version: int
    prompt_name: str
    prompt_version: int
    created: bool
    variables: list[str]
    alias: str | None


class MlflowScoresOut(Out):
    tracking_uri: str
    evaluation: str
    metric: str
    version: int
    assessment_name: str
    dry_run: bool
    logged: int
    overriding: int
    unchanged: int
    skipped_not_mlflow: int
    skipped_no_score: int
    traces_missing: int


class ExportOut(BaseModel):
    prompt: LangfusePromptOut | MlflowPromptOut | None = None
    scores: LangfuseScoresOut | MlflowScoresOut | None = None
