"""MLflow: an experiment's traces and their assessments in, through MLflow's own client
(the ``rubricate[mlflow]`` extra, mlflow-skinny; imported only when a function here runs, so
``rubricate --help`` and a plain install never load it)::

    from rubricate import Rubricate
    from rubricate.integrations import mlflow

    with Rubricate() as rb:
        report = mlflow.import_mlflow(rb, experiment="support-bot", judge="tone", dry_run=True)
        mlflow.import_mlflow(rb, experiment="support-bot", judge="tone")
        mlflow.export_judge(rb, "tone", alias="staging")
        mlflow.log_scores(rb, "mlflow-support-bot", "tone")

Each trace is a row (its id the trace id): the root span's inputs and outputs as text, a
RETRIEVER span's documents as the context, the expectation ``expected_response`` as the
expected answer. Feedback named after the judge becomes annotations (source HUMAN: the
reviewer is the source id, the rationale the comment) and judge results (source LLM_JUDGE:
the model is the source id). Everything is read first, then written in one transaction
through the import every layout uses: all or nothing; a second import adds only what is
new; feedback MLflow now gives otherwise is reported, never overwritten.

Out, a metric version goes to MLflow's prompt registry as a judge's instructions with
MLflow's template variables (``make_judge(instructions=...)`` takes it as it is), and an
evaluation's judge scores of a version go back as Feedback assessments on the traces the
rows came from, carrying the metric version (again: only what changed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from rubricate.domain.errors import InvalidInput, Unavailable
from rubricate.domain.metrics import check_metric_name
from rubricate.domain.names import check_evaluation_name
from rubricate.domain.scale import Scale
from rubricate.integrations import _import_write
from rubricate.integrations._common import Progress, chosen_name, quiet, refuse_builtin
from rubricate.integrations._import_write import existing_scale, known_rows
from rubricate.integrations._langfuse_plan import parse_time
from rubricate.integrations._mlflow_export import (
    MlflowPromptReport,
    judge_instructions,
    register,
    variables,
)
from rubricate.integrations._mlflow_read import (
    PAGE_SIZE,
    MlflowPlan,
    MlflowRequest,
    check_judge,
    fill_plan,
    find_experiment,
    infer_scale,
    read_traces,
)
from rubricate.integrations._mlflow_scores import (
    MlflowScoresReport,
    score_target,
    send_scores,
)
from rubricate.integrations._mlflow_write import ChangedAssessment, Filler, MlflowImportReport

if TYPE_CHECKING:
    from rubricate.service.workspace import Rubricate

__all__ = [
    "ChangedAssessment",
    "MlflowImportReport",
    "MlflowPromptReport",
    "MlflowScoresReport",
    "Progress",
    "export_judge",
    "import_mlflow",
    "log_scores",
]

EXPECTATION = "expected_response"  # the expectation MLflow's own scorers read
USERINFO = re.compile(r"//[^/@\s]+@")  # a user and password in a URL


def import_mlflow(
    rb: Rubricate,
    *,
    experiment: str,
    judge: str | None = None,
    evaluation: str | None = None,
    metric: str | None = None,
    since: str | datetime | None = None,
    tracking_uri: str | None = None,
    expectation: str = EXPECTATION,
    dry_run: bool = False,
    progress: Progress | None = None,
    page_size: int = PAGE_SIZE,
) -> MlflowImportReport:
    """Import the traces of the MLflow ``experiment`` (a name or an id) started at or after
    ``since`` (ISO 8601; UTC unless a zone is given) into ``evaluation`` (default
    ``mlflow-EXPERIMENT``), with the feedback named ``judge`` under ``metric`` (default: the
    judge's name; created with a scale read from the values when it does not exist). The
    tracking server is ``tracking_uri``, else MLflow's own default (MLFLOW_TRACKING_URI).
    A dry run reads and counts, and keeps nothing."""
    mlflow = _mlflow()
    uri = tracking_uri or mlflow.get_tracking_uri()
    _check_store(uri)
    with _reaching(uri):
        client = mlflow.MlflowClient(tracking_uri=uri)
        experiment_id, experiment_name = find_experiment(client, experiment)
        request = _request(experiment_id, experiment_name, judge, evaluation, metric, since,
                           expectation)  # fmt: skip
        read = read_traces(client, request, progress or quiet, max(1, page_size))
    check_judge(request, read)
    existing = existing_scale(rb, request.metric) if judge else None
    if judge is None or existing is not None:
        scale, description = existing or Scale(min=1, max=5), ""  # unused without a judge
    else:
        scale, description = infer_scale(read, request)
    plan = MlflowPlan(scale=scale, create_metric=judge is not None and existing is None,
                      description=description)  # fmt: skip
    known = known_rows(rb.db, request.evaluation, list(read.rows))
    fill_plan(plan, read, request, known)
    _check_builtin(rb, request, plan)
    report = MlflowImportReport(request.evaluation, tracking_uri=shown_uri(uri),
                                experiment=experiment_name)  # fmt: skip
    report.traces_read = plan.traces_read
    report.traces_skipped = dict(plan.traces_skipped)
    report.assessments_skipped = dict(plan.skipped)
    what = f"Imported from MLflow at {shown_uri(uri)} (experiment {experiment_name!r})."
    return _import_write.write_plan(
        rb.db, Filler, request.evaluation, request.metric, plan, report,
        description=what, dry_run=dry_run,
    )  # fmt: skip


def _mlflow() -> Any:
    """MLflow, loaded now (it brings SQLAlchemy models, protobuf, OpenTelemetry)."""
    try:
        import mlflow
    except ImportError:
        raise InvalidInput(
            "the MLflow connector needs MLflow: pip install 'rubricate[mlflow]' (or mlflow)"
        ) from None
    return mlflow


def _check_store(uri: str) -> None:
    """An import or a log of scores never makes a store: MLflow would create an empty SQLite
    file for a typo."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:///:memory:"):
        path = Path(unquote(uri.removeprefix("sqlite:///").partition("?")[0]))
        if not path.is_file():
            raise InvalidInput(
                f"there is no MLflow store at {path}: give the tracking URI of an existing "
                "one (--tracking-uri sqlite:///PATH, or http://HOST:PORT of a tracking server)",
                field="tracking_uri",
            )


@contextmanager
def _reaching(uri: str) -> Iterator[None]:
    """MLflow's errors (a server that is down, a refused token) as rubricate's, naming the
    server and what to set."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        message = str(exc.message).strip().splitlines()[0][:500]
        message = USERINFO.sub("//", message)  # MLflow's message repeats the URL as given
        hint = ""
        if exc.error_code in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
            hint = (" (set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and "
                    "MLFLOW_TRACKING_PASSWORD)")  # fmt: skip
        raise Unavailable(f"MLflow at {shown_uri(uri)}: {message}{hint}") from None


def shown_uri(uri: str) -> str:
    """The tracking URI without a user and password, if it carries them."""
    parts = urlsplit(uri)
    if parts.password is None and parts.username is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _request(
    experiment_id: str,
    experiment_name: str,
    judge: str | None,
    evaluation: str | None,
    metric: str | None,
    since: str | datetime | None,
    expectation: str,
) -> MlflowRequest:
    if judge is not None and not judge.strip():
        raise InvalidInput(
            "name the MLflow feedback to import, or leave --judge out", field="judge"
        )
    chosen = chosen_name(
        evaluation, f"mlflow-{experiment_name}", check_evaluation_name, field="evaluation",
        why=f"the experiment name {experiment_name!r} does not make a valid evaluation name: "
        "name the evaluation to import into with --evaluation",
    )  # fmt: skip
    name = metric if metric is not None else ""
    if judge is not None:
        name = chosen_name(
            metric, judge, check_metric_name, field="metric",
            why=f"the feedback name {judge!r} is not a valid metric name: name the metric to "
            "store it under with --metric",
        )  # fmt: skip
    return MlflowRequest(chosen, experiment_id, experiment_name, judge, name, expectation,
                         parse_time(since, "since"))  # fmt: skip


def _check_builtin(rb: Rubricate, request: MlflowRequest, plan: MlflowPlan) -> None:
    refuse_builtin(
        rb, request.metric, plan,
        f"{request.metric!r} is a built-in metric: MLflow's judge feedback cannot be "
        "pinned to its prompt; store it under a metric of your own, such as --metric "
        f"{request.metric}-mlflow",
    )  # fmt: skip


def export_judge(
    rb: Rubricate,
    metric: str,
    *,
    version: int | None = None,
    name: str | None = None,
    alias: str | None = None,
    tracking_uri: str | None = None,
) -> MlflowPromptReport:
    """Register ``metric``'s ``version`` (default: the active one) in MLflow's prompt
    registry as the prompt ``name`` (default: the metric's name), a judge's instructions
    with MLflow's template variables (``{{ inputs }}``, ``{{ outputs }}``,
    ``{{ expectations }}``), tagged with the metric, the version and its scale; ``alias``
    (such as ``production``) then points at it. Nothing is registered while the latest
    version holds the same text."""
    mlflow = _mlflow()
    uri = tracking_uri or mlflow.get_tracking_uri()
    ref = metric if version is None else f"{metric}@{version}"
    text, tags, number = judge_instructions(rb, ref)
    prompt_name = name or metric
    message = f"rubricate: {metric} version {number}"
    with _reaching(uri):
        client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        made, created = register(client, prompt_name, text, tags, alias, message)
    return MlflowPromptReport(
        tracking_uri=shown_uri(uri), metric=metric, version=number, prompt_name=prompt_name,
        prompt_version=made, created=created, variables=variables(text), alias=alias,
    )  # fmt: skip


def log_scores(
    rb: Rubricate,
    evaluation: str,
    metric: str,
    *,
    tracking_uri: str | None = None,
    assessment_name: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> MlflowScoresReport:
    """Log the judge scores of ``metric`` (``NAME`` for its active version, ``NAME@N``) in
    ``evaluation`` as MLflow Feedback assessments named ``assessment_name`` (default: the
    metric's name) on the traces the rows came from: the score as the value (a label's
    text), the judge's rationale, an LLM_JUDGE source (the judge model) and the metadata
    ``rubricate_metric``, ``rubricate_version`` and ``rubricate_run``. A trace holding
    rubricate's feedback of the version with the same value is left unchanged; another
    value is logged overriding it. Rows not from MLflow, or without a score of the version,
    are counted. A dry run reads MLflow and counts, and logs nothing."""
    target = score_target(rb, evaluation, metric, assessment_name)
    mlflow = _mlflow()
    uri = tracking_uri or mlflow.get_tracking_uri()
    _check_store(uri)
    report = MlflowScoresReport(
        tracking_uri=shown_uri(uri), evaluation=evaluation, metric=target.metric,
        version=target.version.number, assessment_name=target.name, dry_run=dry_run,
    )  # fmt: skip
    # MlflowClient has no assessment calls; mlflow.log_feedback and override_feedback go
    # through this client at the process-wide tracking URI, which a library must not set.
    from mlflow.tracing.client import TracingClient

    with _reaching(uri):
        client = TracingClient(tracking_uri=uri)
        return send_scores(rb, client, target, report, progress or quiet)


def __getattr__(name: str) -> Any:
    """``RubricateOptimizer`` (MLflow's alignment optimizer), loaded on first use: it
    imports MLflow's judges, which a plain import of this module must not."""
    if name == "RubricateOptimizer":
        from rubricate.integrations._mlflow_optimizer import RubricateOptimizer

        return RubricateOptimizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
