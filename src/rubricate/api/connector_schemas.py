"""The bodies and answers of the connector routes (api/connectors.py). A body names no
location: the host is the connection's, set by an admin; any other field is refused."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from rubricate.api.schemas import ImportReportOut, In, MetricField, Name, Out

TimeField = Annotated[
    str, Field(min_length=1, max_length=64, description="ISO 8601; UTC unless a zone is given.")
]
VersionField = Annotated[
    int | None, Field(ge=1, le=2**31 - 1, description="Default: the active version.")
]
LabelField = Annotated[str, Field(min_length=1, max_length=100)]
DryRun = Annotated[bool, Field(description="Read and count; keep (or send) nothing.")]


# -- bodies ------------------------------------------------------------------------------


class LangfuseImportBody(In):
    """As `rubricate import langfuse`."""

    score: Name = Field(description="The Langfuse score reviewers gave: annotations.")
    judge_score: Name | None = Field(
        default=None, description="The score an LLM judge gave. Default: the score's EVAL ones."
    )
    evaluation: Name | None = Field(default=None, description="Default: langfuse-SCORE.")
    metric: MetricField | None = Field(default=None, description="Default: the score's name.")
    start: TimeField | None = Field(default=None, alias="from")
    end: TimeField | None = Field(default=None, alias="to", description="Default: now.")
    dry_run: DryRun = False


class MlflowImportBody(In):
    """As `rubricate import mlflow`."""

    experiment: Name = Field(description="The MLflow experiment, by its name or its id.")
    judge: Name | None = Field(
        default=None, description="The feedback to import. Default: rows only."
    )
    evaluation: Name | None = Field(default=None, description="Default: mlflow-EXPERIMENT.")
    metric: MetricField | None = Field(default=None, description="Default: the judge's name.")
    since: TimeField | None = None
    dry_run: DryRun = False


class LangfuseExportBody(In):
    """As `rubricate export langfuse`: a new prompt version, and with `scores` an
    evaluation's judge scores of that version."""

    metric: MetricField
    version: VersionField = None
    label: LabelField = "production"
    prompt_type: Literal["text", "chat"] = "text"
    fields: list[Annotated[str, Field(min_length=1, max_length=40)]] | None = Field(
        default=None, max_length=10, description="The optional row fields your traces have."
    )
    name: Name | None = Field(default=None, description="The prompt's name. Default: the metric's.")
    scores: Name | None = Field(default=None, description="An evaluation whose scores to send.")
    score_name: Name | None = Field(default=None, description="With scores. Default: the metric.")


class MlflowExportBody(In):
    """As `rubricate export mlflow`: the version registered as a judge's instructions, or
    with `scores` an evaluation's judge scores logged as feedback instead."""

    metric: MetricField
    version: VersionField = None
    name: Name | None = Field(default=None, description="The prompt's name. Default: the metric's.")
    alias: LabelField | None = None
    scores: Name | None = Field(default=None, description="An evaluation whose scores to log.")
    assessment_name: Name | None = Field(default=None, description="With scores.")
    dry_run: DryRun = False


def body_schema(*models: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route that takes one of ``models`` (by the connection's
    kind; the handler reads the body as the one its connection takes)."""
    shapes = [model.model_json_schema(by_alias=True) for model in models]
    content = {"application/json": {"schema": {"anyOf": shapes}}}
    return {"requestBody": {"required": True, "content": content}}


# -- answers -----------------------------------------------------------------------------


class KeyVariableOut(BaseModel):
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
