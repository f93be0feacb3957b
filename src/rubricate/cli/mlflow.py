"""`rubricate import mlflow` and `rubricate export mlflow`: thin commands over
rubricate.integrations.mlflow, with a progress bar and summaries. mlflow itself loads only
when a command runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from rubricate.cli._common import workspace
from rubricate.cli._connector_common import (
    TIME_FORMAT,
    DryRunImport,
    MetricVersion,
    changed_lines,
    into_evaluation,
    skipped_lines,
    stage_bars,
    under_metric,
)
from rubricate.cli._output import JsonFlag, counted, emit, skipped
from rubricate.cli.transfer import import_summary

if TYPE_CHECKING:
    from rubricate.integrations.mlflow import (
        MlflowImportReport,
        MlflowPromptReport,
        MlflowScoresReport,
    )

STAGES = {"traces": "traces read", "rows": "rows checked"}
# The MLflow that import and export talk to.
TrackingUri = Annotated[
    str | None,
    typer.Option(
        help="The MLflow tracking server or store (http://..., sqlite:///mlflow.db). "
        "Default: MLFLOW_TRACKING_URI, else MLflow's own default."
    ),
]


def import_mlflow(
    ctx: typer.Context,
    experiment: Annotated[
        str,
        typer.Option(help="The MLflow experiment, by its name or its id.", show_default=False),
    ],
    judge: Annotated[
        str | None,
        typer.Option(
            help="The feedback to import: its HUMAN assessments become annotations "
            "(reviewer: the source id), its LLM_JUDGE ones judge results. Default: rows only."
        ),
    ] = None,
    evaluation: Annotated[str | None, into_evaluation("mlflow-EXPERIMENT")] = None,
    metric: Annotated[
        str | None,
        under_metric(
            "The metric the feedback goes under. Default: the judge's name; created with a "
            "scale read from the values when missing."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(metavar="TIME", help=f"Only traces started at or after TIME ({TIME_FORMAT})."),
    ] = None,
    tracking_uri: TrackingUri = None,
    expectation: Annotated[
        str, typer.Option(help="The expectation that becomes a row's expected answer.")
    ] = "expected_response",
    dry_run: DryRunImport = False,
    json_output: JsonFlag = False,
) -> None:
    """Import an MLflow experiment's traces (a trace is a row, its id the trace id; the
    root span's inputs and outputs, a RETRIEVER span's documents as the context) with the
    feedback named --judge. Read whole, then written in one transaction; importing again
    adds only what is new, and feedback changed in MLflow since is reported, never
    overwritten. Needs the rubricate[mlflow] extra."""
    from rubricate.integrations import mlflow

    rb = workspace(ctx)
    with stage_bars("MLflow", STAGES, quiet=json_output) as progress:
        report = mlflow.import_mlflow(
            rb,
            experiment=experiment,
            judge=judge,
            evaluation=evaluation,
            metric=metric,
            since=since,
            tracking_uri=tracking_uri,
            expectation=expectation,
            dry_run=dry_run,
            progress=progress,
        )
    emit(report, json_output, import_text)


def import_text(report: MlflowImportReport) -> str:
    source = f"MLflow experiment {report.experiment!r} at {report.tracking_uri}"
    lines = [
        import_summary(source, report),
        f"  read           {counted(report.traces_read, 'trace')}",
    ]
    lines += skipped_lines(report.traces_skipped, "trace")
    lines += skipped_lines(report.assessments_skipped, "assessment")
    lines += changed_lines(
        report.assessments_changed,
        noun="assessment",
        source="MLflow",
        comment="rationale",
        now=lambda change: change.mlflow,
        ref=lambda change: f"assessment {change.assessment_id}",
    )
    return "\n".join(lines)


def export_mlflow(
    ctx: typer.Context,
    metric: Annotated[
        str,
        typer.Argument(
            help="The metric whose prompt (with --scores: judge scores) goes to MLflow."
        ),
    ],
    version: MetricVersion = None,
    name: Annotated[
        str | None, typer.Option(help="The MLflow prompt's name. Default: the metric's.")
    ] = None,
    alias: Annotated[
        str | None,
        typer.Option(help="An alias to point at the prompt version (production, staging)."),
    ] = None,
    tracking_uri: TrackingUri = None,
    scores: Annotated[
        str | None,
        typer.Option(
            metavar="EVALUATION",
            help="Instead of registering the prompt, log this evaluation's judge scores of "
            "the version as feedback on the MLflow traces its rows came from.",
        ),
    ] = None,
    assessment_name: Annotated[
        str | None,
        typer.Option(help="With --scores: the feedback's name. Default: the metric's."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="With --scores: count what would be logged; log nothing."),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Register a metric version in MLflow's prompt registry as a judge's instructions
    with MLflow's template variables ({{ inputs }}, {{ outputs }}, {{ expectations }}),
    tagged with the metric, the version and its scale: make_judge(instructions=...) takes
    it as it is. Running it again registers nothing new.

    With --scores EVALUATION, log the evaluation's judge scores of the version instead, as
    Feedback assessments on the traces its rows came from (an LLM_JUDGE source: the judge
    model; the rationale; rubricate_metric, rubricate_version and rubricate_run in the
    metadata). Running it again logs only changed scores, each overriding rubricate's
    earlier feedback of the version. Needs the rubricate[mlflow] extra."""
    from rubricate.integrations import mlflow

    _check_options(scores, name=name, alias=alias, assessment_name=assessment_name,
                   dry_run=dry_run)  # fmt: skip
    rb = workspace(ctx)
    if scores is not None:
        ref = metric if version is None else f"{metric}@{version}"
        with stage_bars("MLflow", STAGES, quiet=json_output) as progress:
            logged = mlflow.log_scores(rb, scores, ref, tracking_uri=tracking_uri,
                                       assessment_name=assessment_name, dry_run=dry_run,
                                       progress=progress)  # fmt: skip
        emit(logged, json_output, scores_text)
        return
    report = mlflow.export_judge(rb, metric, version=version, name=name, alias=alias,
                                 tracking_uri=tracking_uri)  # fmt: skip
    emit(report, json_output, export_text)


def export_text(report: MlflowPromptReport) -> str:
    what = f"{report.metric} version {report.version}"
    where = f"the MLflow prompt {report.prompt_name!r} at {report.tracking_uri}"
    alias = f", alias {report.alias}" if report.alias else ""
    if not report.created:
        return (
            f"Nothing registered: version {report.prompt_version} of {where} holds {what} "
            f"already{alias}."
        )
    names = ", ".join(f"{{{{ {v} }}}}" for v in report.variables)
    return (
        f"Registered version {report.prompt_version} of {where} from {what}{alias} "
        f"(variables {names})."
    )


def _check_options(
    scores: str | None, *, name: str | None, alias: str | None, assessment_name: str | None,
    dry_run: bool,
) -> None:  # fmt: skip
    if scores is None:
        for given, option in ((assessment_name, "--assessment-name"), (dry_run, "--dry-run")):
            if given:
                raise typer.BadParameter("is for --scores", param_hint=option)
        return
    for given, option in ((name, "--name"), (alias, "--alias")):
        if given is not None:
            raise typer.BadParameter(
                "is for the prompt; --scores logs judge scores only", param_hint=option
            )


def scores_text(report: MlflowScoresReport) -> str:
    what = (
        f"{counted(report.logged, 'judge score')} of {report.metric} version {report.version} "
        f"in {report.evaluation} as {report.assessment_name!r} feedback on MLflow traces at "
        f"{report.tracking_uri}"
    )
    head = f"Dry run, nothing logged. Would log {what}" if report.dry_run else f"Logged {what}"
    if report.overriding:
        head += f" ({report.overriding} overriding rubricate's earlier feedback of the version)"
    lines = [f"{head}; {report.unchanged} unchanged."]
    lines += skipped(
        (report.skipped_not_mlflow, "row", "that did not come from an MLflow trace"),
        (report.skipped_no_score, "row", "without a score of the version"),
        (report.traces_missing, "row", "whose trace this MLflow does not have"),
    )
    return "\n".join(lines)
