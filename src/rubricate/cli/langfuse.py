"""`rubricate import langfuse` and `rubricate export langfuse`: thin commands over
rubricate.integrations.langfuse, with progress bars and summaries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rubricate.cli._common import workspace
from rubricate.cli._output import JsonFlag, counted, print_json, progress_bar, say
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
    evaluation: Annotated[
        str | None,
        typer.Option(
            "--evaluation", "-e", help="The evaluation to import into. Default: langfuse-SCORE."
        ),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            "-m",
            help="The metric the scores go under. Default: the "
            "score's name; created from its Langfuse score config when missing.",
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="TIME",
            help="Only scores given at or after TIME "
            "(ISO 8601: 2025-05-01, 2025-05-01T12:00Z; UTC unless a zone is given).",
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", metavar="TIME", help="Only scores given before TIME. Default: now."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read and count what would come in; keep nothing.")
    ] = False,
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
    with _bars(quiet=json_output) as progress:
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
    if json_output:
        print_json(report)
        return
    say(import_text(report))


def import_text(report: LangfuseImportReport) -> str:
    source = f"Langfuse at {report.host}"
    lines = [
        import_summary(source, report),
        f"  read           {counted(report.scores_read, 'score')}, "
        f"{counted(report.traces_fetched, 'trace')} fetched",
    ]
    for reason, number in sorted(report.scores_skipped.items()):
        lines.append(f"  skipped        {counted(number, 'score')} {reason}")
    if report.scores_changed:
        lines.append(
            f"  changed        {counted(len(report.scores_changed), 'score')} changed in "
            "Langfuse since an earlier import, kept as stored (import into a new evaluation "
            "to take Langfuse's):"
        )
        for change in report.scores_changed[:20]:
            by = f" by {change.by}" if change.by else ""
            note = ", comment changed" if change.comment_changed else ""
            lines.append(
                f"    {change.kind}{by} on trace {change.trace_id}: {_number(change.stored)} "
                f"stored, {_number(change.langfuse)} in Langfuse{note} (score {change.score_id})"
            )
        if len(report.scores_changed) > 20:
            lines.append(f"    and {len(report.scores_changed) - 20} more (--json lists all)")
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "no score" if value is None else f"{value:g}"


def export_langfuse(
    ctx: typer.Context,
    metric: Annotated[str, typer.Argument(help="The metric whose prompt goes to Langfuse.")],
    version: Annotated[
        int | None,
        typer.Option(min=1, help="The metric version. Default: the active one."),
    ] = None,
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
        with _bars(quiet=json_output) as progress:
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
    if report.skipped_not_langfuse:
        lines.append(
            f"  skipped {counted(report.skipped_not_langfuse, 'judge score')} of rows that did "
            "not come from a Langfuse trace"
        )
    if report.skipped_errors:
        lines.append(f"  skipped {counted(report.skipped_errors, 'judge result')} without a score")
    return "\n".join(lines)


@contextmanager
def _bars(*, quiet: bool) -> Iterator[Callable[[str, int, int | None], None]]:
    """A bar per stage (scores read, traces fetched, scores sent), made when it starts."""
    with progress_bar("Langfuse: {task.description}", quiet=quiet) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total)
            elif total is not None:
                bar.update(tasks[stage], total=total)
            bar.advance(tasks[stage], done)

        yield progress
