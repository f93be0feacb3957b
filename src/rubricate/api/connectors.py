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

Keys are read from the variables a connection names when a request uses it. Every error
names the variable or setting to fix, never a key's value: a connector's message about
LANGFUSE_PUBLIC_KEY is told with the variable this connection names, and any key value a
remote server repeats is blanked out.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ValidationError

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
from rubricate.domain.errors import InvalidInput, NotFound, RubricateError, Unavailable
from rubricate.service.workspace import Rubricate
from rubricate.settings import Connection, LangfuseSettings, MlflowSettings

router = APIRouter(prefix="/connections", tags=["connections"])

ConnectionName = Annotated[
    str, Path(min_length=1, max_length=200, description="A connection of the settings.")
]
JsonObject = Annotated[dict[str, Any], Body()]
M = TypeVar("M", bound=BaseModel)
# The variables the Langfuse connector names in its messages (it reads them on the command
# line): here, the ones this connection names.
LANGFUSE_NAMES = ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_HOST")
FIELDS = {"start": "from", "end": "to"}  # the Python names of a Langfuse import's body fields
SHORTEST_KEY = 4  # a variable's value blanked out of a message from here on


def configured(rb: Rubricate, name: str) -> Connection:
    """The connection ``name``; an unknown one lists those the settings name."""
    connections = rb.settings.connections
    found = connections.get(name)
    if found is None:
        names = ", ".join(sorted(connections)) or (
            "none (an admin adds them as [connections.NAME] in the settings file)"
        )
        raise NotFound(f"there is no connection named {name!r}: the configured ones are {names}")
    return found


def parsed(model: type[M], body: dict[str, Any], what: str) -> M:
    """``body`` read as ``model``; a field it does not take is named first (the server
    reaches only the connection's host, so no body may name another)."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = exc.errors(include_url=False, include_input=False)
        extra = [p for p in problems if p["type"] == "extra_forbidden"]
        first = (extra or problems)[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        if first["type"] == "extra_forbidden":
            known = ", ".join(info.alias or key for key, info in model.model_fields.items())
            message = (
                f"{field}: not a field of {what} (its fields: {known}); the server reaches "
                "only the connection's own host, set by an admin"
            )
        else:
            message = f"{field}: {str(first['msg']).removeprefix('Value error, ')}"
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more)"
        raise InvalidInput(message, field=field) from None


def _keys(connection: Connection) -> list[KeyVariableOut]:
    required = isinstance(connection, LangfuseSettings)
    return [
        KeyVariableOut(variable=v, set=bool(os.environ.get(v, "").strip()), required=required)
        for v in connection.key_variables
    ]


def _told(connection: Connection, name: str, text: str) -> str:
    """A connector's message as this connection's: its variables and setting, and no key."""
    if isinstance(connection, LangfuseSettings):
        ours = (connection.public_key_env, connection.secret_key_env, f"connections.{name}.host")
        for theirs, mine in zip(LANGFUSE_NAMES, ours, strict=True):
            text = text.replace(theirs, mine)
    for variable in connection.key_variables:
        value = os.environ.get(variable, "").strip()
        if len(value) >= SHORTEST_KEY:
            text = text.replace(value, "***")
    return text


@contextmanager
def _reaching(connection: Connection, name: str) -> Iterator[None]:
    """The connectors' errors, told for this connection (api/errors.py answers them)."""
    try:
        yield
    except InvalidInput as exc:
        field = None if exc.field is None else FIELDS.get(exc.field, exc.field)
        raise InvalidInput(
            _told(connection, name, exc.message), field=field and _told(connection, name, field),
            file=exc.file, line=exc.line,
        ) from None  # fmt: skip
    except RubricateError as exc:
        raise type(exc)(_told(connection, name, str(exc))) from None


def _langfuse(connection: LangfuseSettings, name: str) -> Any:
    """The connector's connection, its keys read from the variables now."""
    from rubricate.integrations.langfuse import LangfuseConnection

    missing = [v for v in connection.key_variables if not os.environ.get(v, "").strip()]
    if missing:
        raise Unavailable(
            f"the connection {name!r} needs {' and '.join(missing)} set in the server's "
            "environment (the Langfuse project's API keys): an admin sets them where the "
            "server runs"
        )
    public, secret = (os.environ[v].strip() for v in connection.key_variables)
    return LangfuseConnection(connection.host, public, secret)


def _check_mlflow(name: str) -> None:
    if importlib.util.find_spec("mlflow") is None:
        raise Unavailable(
            f"the connection {name!r} needs MLflow where the server runs: install the "
            "rubricate[mlflow] extra there"
        )


@router.get("", dependencies=[requires(Access.ADMIN)], responses=responses(403))
def list_connections(rb: Workspace, paging: PageParams) -> Page[ConnectionOut]:
    """The connections an admin configured: name, kind, host, and whether each key
    variable is set (its value is never shown)."""
    found = sorted(rb.settings.connections.items())
    return page_of(found, paging, lambda item: ConnectionOut(
        name=item[0], kind=item[1].kind, host=item[1].location, keys=_keys(item[1]),
        ready=all(k.set for k in _keys(item[1]) if k.required),
    ))  # fmt: skip


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
    connection = configured(rb, name)
    if isinstance(connection, LangfuseSettings):
        asked = parsed(LangfuseImportBody, body, "an import from Langfuse")
        return _import_langfuse(rb, name, connection, asked)
    return _import_mlflow(rb, name, connection, parsed(MlflowImportBody, body,
                                                       "an import from MLflow"))  # fmt: skip


def _import_langfuse(
    rb: Rubricate, name: str, connection: LangfuseSettings, asked: LangfuseImportBody
) -> LangfuseImportOut:
    from rubricate.integrations import langfuse

    with _reaching(connection, name):
        report = langfuse.import_langfuse(
            rb, score=asked.score, judge_score=asked.judge_score, evaluation=asked.evaluation,
            metric=asked.metric, start=asked.start, end=asked.end, dry_run=asked.dry_run,
            connection=_langfuse(connection, name),
        )  # fmt: skip
    return LangfuseImportOut.model_validate(report)


def _import_mlflow(
    rb: Rubricate, name: str, connection: MlflowSettings, asked: MlflowImportBody
) -> MlflowImportOut:
    from rubricate.integrations import mlflow

    _check_mlflow(name)
    with _reaching(connection, name):
        report = mlflow.import_mlflow(
            rb, experiment=asked.experiment, judge=asked.judge, evaluation=asked.evaluation,
            metric=asked.metric, since=asked.since, dry_run=asked.dry_run,
            tracking_uri=connection.tracking_uri,
        )  # fmt: skip
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
    connection = configured(rb, name)
    if isinstance(connection, LangfuseSettings):
        asked = parsed(LangfuseExportBody, body, "an export to Langfuse")
        return _export_langfuse(rb, name, connection, asked)
    return _export_mlflow(rb, name, connection, parsed(MlflowExportBody, body,
                                                       "an export to MLflow"))  # fmt: skip


def _export_langfuse(
    rb: Rubricate, name: str, connection: LangfuseSettings, asked: LangfuseExportBody
) -> ExportOut:
    from rubricate.integrations import langfuse
    from rubricate.integrations._langfuse_export import score_bodies

    if asked.score_name is not None and asked.scores is None:
        raise InvalidInput("score_name is for scores: name the evaluation too", field="score_name")
    ref = asked.metric if asked.version is None else f"{asked.metric}@{asked.version}"
    if asked.scores is not None:  # the scores' own checks first: no prompt without them
        score_bodies(rb, asked.scores, ref, asked.score_name or asked.metric)
    with _reaching(connection, name):
        reached = _langfuse(connection, name)
        prompt = langfuse.export_prompt(
            rb, asked.metric, version=asked.version, label=asked.label,
            prompt_type=asked.prompt_type, fields=asked.fields, name=asked.name,
            connection=reached,
        )  # fmt: skip
        pushed = None
        if asked.scores is not None:
            pushed = langfuse.push_scores(
                rb, asked.scores, asked.metric, version=prompt.version,
                score_name=asked.score_name, connection=reached,
            )  # fmt: skip
    return ExportOut(
        prompt=LangfusePromptOut.model_validate(prompt),
        scores=None if pushed is None else LangfuseScoresOut.model_validate(pushed),
    )


def _export_mlflow(
    rb: Rubricate, name: str, connection: MlflowSettings, asked: MlflowExportBody
) -> ExportOut:
    from rubricate.integrations import mlflow

    _check_options(asked)
    _check_mlflow(name)
    uri = connection.tracking_uri
    with _reaching(connection, name):
        if asked.scores is not None:
            ref = asked.metric if asked.version is None else f"{asked.metric}@{asked.version}"
            logged = mlflow.log_scores(rb, asked.scores, ref, tracking_uri=uri,
                                       assessment_name=asked.assessment_name,
                                       dry_run=asked.dry_run)  # fmt: skip
            return ExportOut(scores=MlflowScoresOut.model_validate(logged))
        report = mlflow.export_judge(rb, asked.metric, version=asked.version, name=asked.name,
                                     alias=asked.alias, tracking_uri=uri)  # fmt: skip
    return ExportOut(prompt=MlflowPromptOut.model_validate(report))


def _check_options(asked: MlflowExportBody) -> None:
    """As the command line's: assessment_name and dry_run go with scores, name and alias
    with the prompt."""
    if asked.scores is None:
        for field in ("assessment_name", "dry_run"):
            if getattr(asked, field):
                raise InvalidInput(f"{field} is for scores: name the evaluation too", field=field)
        return
    for field in ("name", "alias"):
        if getattr(asked, field) is not None:
            raise InvalidInput(
                f"{field} is for the prompt; with scores only the judge scores are logged",
                field=field,
            )
