"""The connectors toward the connections an admin configured (``[connections.NAME]`` in
the settings: a Langfuse project or an MLflow tracking server over http(s)), once for the
REST API (api/connectors.py) and the web UI (web/pages/connections.py). A request names a
connection, never a location: the server never fetches a URL a caller chose, and
``file:``/``sqlite:`` stores stay the command line's.

- ``import_from``: the same import as ``rubricate import langfuse|mlflow``; all or
  nothing, a dry run counts and keeps nothing.
- ``export_to``: a metric version out, as ``rubricate export langfuse|mlflow`` (a Langfuse
  prompt version with a label, and optionally the judge scores; an MLflow judge in its
  prompt registry, or the judge scores as feedback).

A request is read as the model of its connection's kind (a field that model does not take
is refused, so no request can carry a host). Keys are read from the variables a connection
names when a request uses it; errors name the variable or setting to fix (the Langfuse
connection carries their names), never a key's value.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from rubricate.domain.errors import InvalidInput, NotFound, RubricateError, Unavailable
from rubricate.settings import Connection, LangfuseSettings, MlflowSettings

if TYPE_CHECKING:
    from rubricate.integrations._langfuse_export import LangfusePromptReport, LangfuseScoresReport
    from rubricate.integrations._langfuse_http import LangfuseConnection
    from rubricate.integrations._langfuse_write import LangfuseImportReport
    from rubricate.integrations._mlflow_export import MlflowPromptReport
    from rubricate.integrations._mlflow_scores import MlflowScoresReport
    from rubricate.integrations._mlflow_write import MlflowImportReport
    from rubricate.service.workspace import Rubricate

FIELDS = {"start": "from", "end": "to"}  # a Langfuse import's Python names -> its fields
SHORTEST_KEY = 4  # a variable's value blanked out of an MLflow message from here on


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    return text


Text = AfterValidator(_no_nul)
Name = Annotated[str, Field(min_length=1, max_length=200), Text]
MetricName = Annotated[str, Field(min_length=1, max_length=100), Text]
Time = Annotated[
    str, Field(min_length=1, max_length=64, description="ISO 8601; UTC unless a zone is given."),
    Text,
]  # fmt: skip
Version = Annotated[
    int | None, Field(ge=1, le=2**31 - 1, description="Default: the active version.")
]
Label = Annotated[str, Field(min_length=1, max_length=100), Text]
DryRun = Annotated[bool, Field(description="Read and count; keep (or send) nothing.")]


class Asked(BaseModel):
    """A request to a connection: only the fields it names (no location among them)."""

    model_config = ConfigDict(extra="forbid")


class Importing(Asked):
    """What every import from a connection takes: where the data goes, and whether to
    keep it."""

    evaluation: Name | None = Field(
        default=None, description="Default: langfuse-SCORE or mlflow-EXPERIMENT."
    )
    metric: MetricName | None = Field(
        default=None, description="Default: the score's (or the judge's) name."
    )
    dry_run: DryRun = False


class LangfuseImport(Importing):
    """As `rubricate import langfuse`."""

    score: Name = Field(description="The Langfuse score reviewers gave: annotations.")
    judge_score: Name | None = Field(
        default=None, description="The score an LLM judge gave. Default: the score's EVAL ones."
    )
    start: Time | None = Field(default=None, alias="from")
    end: Time | None = Field(default=None, alias="to", description="Default: now.")


class MlflowImport(Importing):
    """As `rubricate import mlflow`."""

    experiment: Name = Field(description="The MLflow experiment, by its name or its id.")
    judge: Name | None = Field(
        default=None, description="The feedback to import. Default: rows only."
    )
    since: Time | None = None


class Sending(Asked):
    """What every export to a connection takes: the metric version to send."""

    metric: MetricName
    version: Version = None

    @property
    def ref(self) -> str:
        """``NAME`` (the active version) or ``NAME@N``, as the connectors read a version."""
        return self.metric if self.version is None else f"{self.metric}@{self.version}"


class LangfuseExport(Sending):
    """As `rubricate export langfuse`: a new prompt version, and with `scores` an
    evaluation's judge scores of that version."""

    label: Label = "production"
    prompt_type: Literal["text", "chat"] = "text"
    fields: list[Annotated[str, Field(min_length=1, max_length=40), Text]] | None = Field(
        default=None, max_length=10, description="The optional row fields your traces have."
    )
    name: Name | None = Field(default=None, description="The prompt's name. Default: the metric's.")
    scores: Name | None = Field(default=None, description="An evaluation whose scores to send.")
    score_name: Name | None = Field(default=None, description="With scores. Default: the metric.")


class MlflowExport(Sending):
    """As `rubricate export mlflow`: the version registered as a judge's instructions, or
    with `scores` an evaluation's judge scores logged as feedback instead."""

    name: Name | None = Field(default=None, description="The prompt's name. Default: the metric's.")
    alias: Label | None = None
    scores: Name | None = Field(default=None, description="An evaluation whose scores to log.")
    assessment_name: Name | None = Field(default=None, description="With scores.")
    dry_run: DryRun = False


M = TypeVar("M", bound=Asked)


def parsed(model: type[M], body: Mapping[str, Any], what: str) -> M:
    """``body`` read as ``model``; a field it does not take is named first (the server
    reaches only the connection's host, so no request may name another)."""
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


@dataclass(frozen=True)
class KeyVariable:
    variable: str  # the environment variable's name; its value is never shown
    set: bool
    required: bool


def key_variables(connection: Connection) -> list[KeyVariable]:
    """Each variable of the connection's keys, and whether it is set where the server runs."""
    required = isinstance(connection, LangfuseSettings)
    return [
        KeyVariable(v, bool(os.environ.get(v, "").strip()), required)
        for v in connection.key_variables
    ]


def ready(connection: Connection) -> bool:
    """Every required key variable is set."""
    return all(key.set for key in key_variables(connection) if key.required)


# -- import ----------------------------------------------------------------------------


def import_from(
    rb: Rubricate, name: str, body: Mapping[str, Any]
) -> LangfuseImportReport | MlflowImportReport:
    """Import from the connection ``name`` into an evaluation (created when new); ``body``
    is a Langfuse or an MLflow import's (LangfuseImport, MlflowImport), by the connection's
    kind. All or nothing; importing again adds only what is new."""
    connection = configured(rb, name)
    if isinstance(connection, LangfuseSettings):
        from rubricate.integrations import langfuse

        asked = parsed(LangfuseImport, body, "an import from Langfuse")
        with _told(connection):
            return langfuse.import_langfuse(
                rb, score=asked.score, judge_score=asked.judge_score,
                evaluation=asked.evaluation, metric=asked.metric, start=asked.start,
                end=asked.end, dry_run=asked.dry_run, connection=_langfuse(connection, name),
            )  # fmt: skip
    from rubricate.integrations import mlflow

    chosen = parsed(MlflowImport, body, "an import from MLflow")
    _check_mlflow(name)
    with _told(connection):
        return mlflow.import_mlflow(
            rb, experiment=chosen.experiment, judge=chosen.judge, evaluation=chosen.evaluation,
            metric=chosen.metric, since=chosen.since, dry_run=chosen.dry_run,
            tracking_uri=connection.tracking_uri,
        )  # fmt: skip


@contextmanager
def _told(connection: Connection) -> Iterator[None]:
    """The connectors' errors as a request to ``connection`` names things: a Langfuse
    import's start and end are its fields from and to; and no key variable's value that a
    server repeats (MLflow's: the Langfuse client blanks its keys itself)."""
    try:
        yield
    except InvalidInput as exc:
        if exc.field not in FIELDS:
            raise
        raise InvalidInput(exc.message, field=FIELDS[exc.field]) from None
    except RubricateError as exc:
        values = [os.environ.get(v, "").strip() for v in connection.key_variables]
        shown = text = str(exc)
        for value in (v for v in values if len(v) >= SHORTEST_KEY):
            shown = shown.replace(value, "***")
        if shown == text:
            raise
        raise type(exc)(shown) from None


def _langfuse(connection: LangfuseSettings, name: str) -> LangfuseConnection:
    """The connector's connection, its keys read from the variables now; its errors name
    those variables and the setting of its host."""
    from rubricate.integrations.langfuse import LangfuseConnection

    missing = [v for v in connection.key_variables if not os.environ.get(v, "").strip()]
    if missing:
        raise Unavailable(
            f"the connection {name!r} needs {' and '.join(missing)} set in the server's "
            "environment (the Langfuse project's API keys): an admin sets them where the "
            "server runs"
        )
    public, secret = (os.environ[v].strip() for v in connection.key_variables)
    return LangfuseConnection(
        connection.host, public, secret, public_key_env=connection.public_key_env,
        secret_key_env=connection.secret_key_env, host_setting=f"connections.{name}.host",
    )  # fmt: skip


def _check_mlflow(name: str) -> None:
    if importlib.util.find_spec("mlflow") is None:
        raise Unavailable(
            f"the connection {name!r} needs MLflow where the server runs: install the "
            "rubricate[mlflow] extra there"
        )


# -- export ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    """What an export sent: the prompt (or judge), the scores, or both."""

    prompt: LangfusePromptReport | MlflowPromptReport | None = None
    scores: LangfuseScoresReport | MlflowScoresReport | None = None


def export_to(rb: Rubricate, name: str, body: Mapping[str, Any]) -> Exported:
    """A metric version out to the connection ``name``; ``body`` is a LangfuseExport or an
    MlflowExport, by its kind. Langfuse: a new prompt version with a label (and with
    `scores`, that evaluation's judge scores of the version, checked before the prompt is
    created); MLflow: the version registered as a judge's instructions (or with `scores`,
    the judge scores logged as feedback instead). Repeating it sends nothing new."""
    connection = configured(rb, name)
    if isinstance(connection, LangfuseSettings):
        asked = parsed(LangfuseExport, body, "an export to Langfuse")
        return _export_langfuse(rb, name, connection, asked)
    return _export_mlflow(rb, name, connection, parsed(MlflowExport, body, "an export to MLflow"))


def _export_langfuse(
    rb: Rubricate, name: str, connection: LangfuseSettings, asked: LangfuseExport
) -> Exported:
    from rubricate.integrations import langfuse

    if asked.score_name is not None and asked.scores is None:
        raise InvalidInput("score_name is for scores: name the evaluation too", field="score_name")
    if asked.scores is not None:  # the scores' own checks first: no prompt without them
        langfuse.check_scores(rb, asked.scores, asked.ref, asked.score_name or asked.metric)
    reached = _langfuse(connection, name)
    prompt = langfuse.export_prompt(
        rb, asked.metric, version=asked.version, label=asked.label,
        prompt_type=asked.prompt_type, fields=asked.fields, name=asked.name, connection=reached,
    )  # fmt: skip
    if asked.scores is None:
        return Exported(prompt=prompt)
    pushed = langfuse.push_scores(rb, asked.scores, asked.metric, version=prompt.version,
                                  score_name=asked.score_name, connection=reached)  # fmt: skip
    return Exported(prompt=prompt, scores=pushed)


def _export_mlflow(
    rb: Rubricate, name: str, connection: MlflowSettings, asked: MlflowExport
) -> Exported:
    from rubricate.integrations import mlflow

    _check_options(asked)
    _check_mlflow(name)
    uri = connection.tracking_uri
    with _told(connection):
        if asked.scores is not None:
            return Exported(scores=mlflow.log_scores(
                rb, asked.scores, asked.ref, tracking_uri=uri,
                assessment_name=asked.assessment_name, dry_run=asked.dry_run,
            ))  # fmt: skip
        return Exported(prompt=mlflow.export_judge(
            rb, asked.metric, version=asked.version, name=asked.name, alias=asked.alias,
            tracking_uri=uri,
        ))  # fmt: skip


def _check_options(asked: MlflowExport) -> None:
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
