"""`rubricate align ...`: start an alignment run (or preview it), carry it out, follow
it, and list a metric's run history. Reviewing and accepting are in align_review.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from rubricate.cli import align_review, align_verify
from rubricate.cli._common import workspace
from rubricate.cli._output import (
    JsonFlag,
    counted,
    emit,
    err,
    listing,
    print_json,
    progress_bar,
    say,
    when,
)
from rubricate.cli._queue import (
    CacheFlag,
    IdempotencyKey,
    RunId,
    cancel_command,
    queue_started,
    retry_command,
)
from rubricate.cli.align_show import report_run
from rubricate.domain.alignment_runs import AlignmentRun, Budget, Phase, RunStatus
from rubricate.models.cost import format_cost

if TYPE_CHECKING:  # the engine loads pydantic-ai and SciPy: only when a command runs
    from rubricate import Rubricate
    from rubricate.alignment.engine import Progress as ProgressCallback
    from rubricate.alignment.estimate import AlignmentPreview
    from rubricate.domain.calibration import ReviewerWarning

app = typer.Typer(help="Alignment runs: distill guidelines from disagreements, then review.")

DEFAULT_BUDGET = Budget()
Metric = Annotated[str, typer.Option("--metric", "-m", help="The metric to align.")]


@app.command("start")
def start(
    ctx: typer.Context,
    metric: Metric,
    evaluation: Annotated[
        list[str],
        typer.Option("--evaluation", "-e", help="A source evaluation (repeat for several)."),
    ],
    delta: Annotated[
        float, typer.Option(help="Delta threshold: |judge − human| at which a row disagrees.")
    ] = 1.0,
    reflection_lm: Annotated[
        str | None,
        typer.Option(
            "--reflection-lm",
            help="provider:model. Default: RUBRICATE_REFLECTION_LM, else builtin:offline.",
        ),
    ] = None,
    judge_model: Annotated[
        str | None,
        typer.Option("--judge-model", help="provider:model to verify with. Default: none."),
    ] = None,
    max_calls: Annotated[int, typer.Option(help="Budget: model calls.")] = DEFAULT_BUDGET.max_calls,
    max_tokens: Annotated[int, typer.Option(help="Budget: tokens.")] = DEFAULT_BUDGET.max_tokens,
    max_cost: Annotated[
        float | None, typer.Option(help="Budget: dollars.")
    ] = DEFAULT_BUDGET.max_cost_usd,
    seed: Annotated[int, typer.Option(help="Seed of the split and the intervals.")] = 0,
    run_id: IdempotencyKey = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Carry the run out here and wait for it.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count disagreements and estimate the cost.")
    ] = False,
    cache: CacheFlag = None,
    json_output: JsonFlag = False,
) -> None:
    """Start aligning a metric with its reviewers on one or more completed evaluations."""
    rb = workspace(ctx)
    options = {
        "metric": metric,
        "evaluations": evaluation,
        "delta": delta,
        "reflection_lm": reflection_lm,
        "judge_model": judge_model,
        "budget": Budget(max_calls, max_tokens, max_cost),
        "seed": seed,
    }
    if dry_run:
        preview = rb.alignment_runs.preview(**options)  # type: ignore[arg-type]
        if json_output:
            print_json(preview)
        else:
            show_preview(preview)
        return
    run = rb.alignment_runs.start(run_id=run_id, **options)  # type: ignore[arg-type]
    warn_reviewers(rb.alignment_runs.reviewer_warning(metric=metric, evaluations=evaluation))
    if wait:
        carry_out(rb, run.id, cache=cache, json_output=json_output)
    else:
        queue_started(rb, "alignment", run, json_output=json_output)


@app.command("run")
def run_command(
    ctx: typer.Context,
    run_id: RunId,
    cache: CacheFlag = None,
    json_output: JsonFlag = False,
) -> None:
    """Carry out a Pending run in this process and wait for it."""
    carry_out(workspace(ctx), run_id, cache=cache, json_output=json_output)


@app.command("list")
def list_runs(ctx: typer.Context, metric: Metric, json_output: JsonFlag = False) -> None:
    """A metric's alignment runs, newest first."""
    runs = workspace(ctx).alignment_runs.list(metric)
    emit(runs, json_output, lambda listed: runs_table(metric, listed))


@app.command("show")
def show_command(ctx: typer.Context, run_id: RunId, json_output: JsonFlag = False) -> None:
    """A run: status, phase, counts, guidelines and verification figures."""
    rb = workspace(ctx)
    run = rb.alignment_runs.get(run_id)
    report_run(rb, run, json_output=json_output)


app.command("cancel")(
    cancel_command("alignment", "Cancel a run in flight; a finished run is left as it is.")
)


def _retry_here(rb: Rubricate, run_id: str, json_output: bool) -> None:
    carry_out(rb, rb.alignment_runs.retry(run_id).id, json_output=json_output)


app.command("retry")(
    retry_command(
        "alignment",
        _retry_here,
        "Try an Error run again: its finished model calls are replayed, not paid again.",
    )
)


def carry_out(rb: Rubricate, run_id: str, *, cache: bool | None = None, json_output: bool) -> None:
    """`align run`, `align start --wait` and `align retry --wait`: the run carried out in
    this process, its phases on a bar, then reported."""
    with phase_progress(quiet=json_output) as progress:
        run = rb.alignment_runs.run(run_id, cache=cache, progress=progress)
    report_run(rb, run, json_output=json_output)


# -- printing ------------------------------------------------------------------------


@contextmanager
def phase_progress(*, quiet: bool = False) -> Iterator[ProgressCallback]:
    with progress_bar("{task.description}", quiet=quiet) as bar:
        task = bar.add_task("Starting", total=None)

        def update(phase: Phase | None, done: int, total: int) -> None:
            label = phase.label if phase is not None else "Starting"
            bar.update(task, description=label, completed=done, total=total or None)

        yield update


def runs_table(metric: str, runs: list[AlignmentRun]) -> Table:
    rows = [
        (run.id, _status(run), when(run.created_at), ", ".join(run.evaluations)) for run in runs
    ]
    return listing(
        f"Alignment runs of {metric}",
        ("Run", "Status", "Created", "Source evaluations"),
        rows,
        empty=f"none yet: rubricate align start --metric {metric} --evaluation E",
    )


def _status(run: AlignmentRun) -> str:
    status = run.status.label
    if run.status is RunStatus.RUNNING and run.phase is not None:
        status = f"{status}: {run.phase.label} {run.progress_done}/{run.progress_total}"
    if run.accepted_version_id is not None:
        status += " (accepted)"
    return status


def show_preview(preview: AlignmentPreview) -> None:
    alpha = "n/a" if preview.reviewer_alpha is None else f"{preview.reviewer_alpha:.3f}"
    say(
        f"{counted(preview.disagreements, 'disagreement')} at this threshold among "
        f"{counted(preview.rows_used, 'usable row')} ({preview.agreeing} agree; "
        f"{counted(preview.missing_judge, 'row lacks', 'rows lack')} a judge "
        f"result, {preview.missing_human} a resolved value). Reviewer agreement "
        f"(Krippendorff's alpha): {alpha}."
    )
    if preview.low_confidence:
        say("Low confidence: fewer than 10 disagreements; guidelines tend to be generic.", "yellow")
    say(
        f"Estimate: {preview.reflection_calls} reflection calls ({preview.reflection_lm}), "
        f"{preview.judge_calls} judge calls ({preview.judge_model or 'no verification'}), "
        f"about {preview.input_tokens:,} prompt tokens: {format_cost(preview.cost_usd)}."
    )
    if preview.cannot_start:
        say(f"The run cannot start as given: {preview.cannot_start}", "yellow")
    warn_reviewers(preview.reviewer_warning)


def warn_reviewers(warning: ReviewerWarning | None) -> None:
    """The warning that reviewers agree too little, on stderr: it never refuses, and
    stdout stays the run's (JSON for scripts)."""
    if warning is not None:
        err().print(Text(f"warning: {warning.message}", style="yellow"), soft_wrap=True)


app.command("accept")(align_review.accept)
app.command("reject")(align_review.reject)
app.command("edit")(align_review.edit_guideline)
app.command("strike")(align_review.strike)
app.command("restore")(align_review.restore)
app.command("verify")(align_verify.verify)
