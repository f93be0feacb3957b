"""`rubricate import langfuse` and `rubricate export langfuse`: thin commands over
rubricate.integrations.langfuse, with progress bars and summaries."""

from __future__ import annotations

from enum import StrEnum
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
from rubricate.cli._output import JsonFlag, counted, emit, print_json, say, unsent
from rubricate.cli.transfer import import_summary

if TYPE_CHECKING:
    from rubricate.integrations.langfuse import (
        LangfuseImportReport,
        LangfusePromptReport,
        LangfuseScoresReport,
    )

STAGES = {"scores": "scores read", "traces": "traces fetched", "push": "scores sent"}


class PromptType(StrEnum):
    text = "text"
    chat = "chat"


def import_langfuse(
    ctx: typer.Context,
    score: Annotated[
        str,
        typer.Option(
            help="The Langfuse score reviewers gave (its ANNOTATION and API scores "
            "become annotations).",
            show_default=False,
        ),
    ],
    judge_score: Annotated[
        str | None,
        typer.Option(
            help="The score an LLM judge gave (EVAL scores; API ones too when it is "
            "not --score): judge results. Default: --score's EVAL scores."
        ),
    ] = None,
    evaluation: Annotated[str | None, into_evaluation("langfuse-SCORE")] = None,
    metric: Annotated[
        str | None,
        under_metric(
            "The metric the scores go under. Default: the score's name; created from its "
            "Langfuse score config when missing."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="TIME", help=f"Only scores given at or after TIME ({TIME_FORMAT})."
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", metavar="TIME", help="Only scores given before TIME. Default: now."),
    ] = None,
    dry_run: DryRunImport = False,
    json_output: JsonFlag = False,
) -> None:
    """Import Langfuse scores with the traces they score (a trace is a row, its id the
    trace id): reviewers' scores become annotations, an evaluator's judge results. Read
    whole, then written in one transaction; importing again adds only what is new, and a
    score changed in Langfuse since is reported, never overwritten.

    Langfuse is reached with LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY (a project's API
    keys) at LANGFUSE_HOST (default https://cloud.langfuse.com)."""
    from rubricate.integrations import langfuse

    rb = workspace(ctx)
    with stage_bars("Langfuse", STAGES, quiet=json_output) as progress:
        report = langfuse.import_langfuse(
            rb,
            score=score,
            judge_score=judge_score,
            evaluation=evaluation,
            metric=metric,
            start=start,
            end=end,
            dry_run=dry_run,
            progress=progress,
        )
    emit(report, json_output, import_text)


def import_text(report: LangfuseImportReport) -> str:
    source = f"Langfuse at {report.host}"
    lines = [
        import_summary(source, report),
        f"  read           {counted(report.scores_read, 'score')}, "
        f"{counted(report.traces_fetched, 'trace')} fetched",
    ]
    lines += skipped_lines(report.scores_skipped, "score")
    lines += changed_lines(
        report.scores_changed,
        noun="score",
        source="Langfuse",
        comment="comment",
        now=lambda change: change.langfuse,
        ref=lambda change: f"score {change.score_id}",
    )
    return "\n".join(lines)


def export_langfuse(
    ctx: typer.Context,
    metric: Annotated[str, typer.Argument(help="The metric whose prompt goes to Langfuse.")],
    version: MetricVersion = None,
    label: Annotated[
        str,
        typer.Option(
            help="The label of the new prompt version: production is the one "
            "Langfuse's SDKs fetch by default; use staging to try it first."
        ),
    ] = "production",
    prompt_type: Annotated[
        PromptType,
        typer.Option(
            "--type",
            help="text: one prompt text; chat: the judge's system and "
            "user messages. Both use Langfuse's {{input}}-style variables.",
        ),
    ] = PromptType.text,
    fields: Annotated[
        str | None,
        typer.Option(
            metavar="LIST",
            help="The optional row fields your traces have, comma "
            "separated (context, expected, metadata; empty: none). Default: every "
            "one the prompt uses.",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="The Langfuse prompt's name. Default: the metric's.")
    ] = None,
    scores: Annotated[
        str | None,
        typer.Option(
            metavar="EVALUATION",
            help="Also send this evaluation's judge scores of "
            "the version to Langfuse, on the traces its rows came from.",
        ),
    ] = None,
    score_name: Annotated[
        str | None,
        typer.Option(help="With --scores: the Langfuse score name. Default: the metric's."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Create a new version of a Langfuse prompt from a metric version (with a label; its
    config carries the scale and the version), and with --scores send an evaluation's
    judge scores back as Langfuse scores with the metric and version in their metadata.
    Running it again creates nothing new.

    Langfuse is reached with LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY (a project's API
    keys) at LANGFUSE_HOST (default https://cloud.langfuse.com)."""
    from rubricate.integrations import langfuse

    if score_name is not None and scores is None:
        raise typer.BadParameter("is for --scores", param_hint="--score-name")
    rb = workspace(ctx)
    chosen = None if fields is None else [f for f in fields.split(",") if f.strip()]
    prompt = langfuse.export_prompt(
        rb,
        metric,
        version=version,
        label=label,
        prompt_type=prompt_type.value,
        fields=chosen,
        name=name,
    )
    pushed = None
    if scores is not None:
        with stage_bars("Langfuse", STAGES, quiet=json_output) as progress:
            pushed = langfuse.push_scores(
                rb,
                scores,
                metric,
                version=prompt.version,
                score_name=score_name,
                progress=progress,
            )
    if json_output:
        print_json({"prompt": prompt, "scores": pushed})
        return
    say(prompt_text(prompt))
    if pushed is not None:
        say(scores_text(pushed))


def prompt_text(report: LangfusePromptReport) -> str:
    what = f"{report.metric} version {report.version}"
    where = f"the Langfuse prompt {report.prompt_name!r} at {report.host}"
    if not report.created:
        return (
            f"Nothing created: version {report.langfuse_version} of {where}, labelled "
            f"{report.label}, holds {what} already."
        )
    return (
        f"Created version {report.langfuse_version} of {where} ({report.prompt_type}) from "
        f"{what}, labelled {report.label}."
    )


def scores_text(report: LangfuseScoresReport) -> str:
    lines = [
        f"Sent {counted(report.pushed, 'judge score')} of {report.metric} version "
        f"{report.version} in {report.evaluation} to Langfuse as {report.score_name!r} scores."
    ]
    lines += unsent(
        report.skipped_not_langfuse, "a Langfuse trace", report.skipped_errors, noun="judge score"
    )
    return "\n".join(lines)
