"""`rubricate align ...`: start an alignment run (or preview it), carry it out, follow
it, and list a metric's run history. Reviewing and accepting are in align_review.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from rubricate.alignment.engine import Progress as ProgressCallback
from rubricate.alignment.estimate import AlignmentPreview
from rubricate.cli import align_review
from rubricate.cli._common import workspace
from rubricate.cli._output import JsonFlag, add_row, err, print_json, say, show, table, when
from rubricate.cli._queue import cancel_workflows, enqueue, queued_line
from rubricate.domain.alignment import AgreementFigures, AlignmentResult
from rubricate.domain.runs import AlignmentRun, Budget, Phase, RunStatus
from rubricate.models.cost import format_cost

app = typer.Typer(help="Alignment runs: distill guidelines from disagreements, then review.")

DEFAULT_BUDGET = Budget()
RunId = Annotated[str, typer.Argument(help="The run's id.", show_default=False)]
Metric = Annotated[str, typer.Option("--metric", help="The metric to align.")]


@app.command("start")
def start(
    ctx: typer.Context,
    metric: Metric,
    evaluation: Annotated[
        list[str],
        typer.Option("--evaluation", help="A source evaluation (repeat for several)."),
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
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Idempotency key: the same id, one run.")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Carry the run out here and wait for it.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count disagreements and estimate the cost.")
    ] = False,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="Reuse identical earlier calls.")
    ] = True,
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
    if wait:
        with phase_progress(quiet=json_output) as progress:
            run = rb.alignment_runs.run(run.id, cache=cache, progress=progress)
    else:
        enqueue(rb, "alignment", run.id)
    if json_output:
        print_json(run)
        return
    if not wait:
        say(queued_line(rb, run.id, "align"))
        return
    show_run(run)


@app.command("run")
def run_command(
    ctx: typer.Context,
    run_id: RunId,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="Reuse identical earlier calls.")
    ] = True,
    json_output: JsonFlag = False,
) -> None:
    """Carry out a Pending run in this process and wait for it."""
    with phase_progress(quiet=json_output) as progress:
        run = workspace(ctx).alignment_runs.run(run_id, cache=cache, progress=progress)
    if json_output:
        print_json(run)
        return
    show_run(run)


@app.command("list")
def list_runs(ctx: typer.Context, metric: Metric, json_output: JsonFlag = False) -> None:
    """A metric's alignment runs, newest first."""
    runs = workspace(ctx).alignment_runs.list(metric)
    if json_output:
        print_json(runs)
        return
    show(runs_table(metric, runs))


@app.command("show")
def show_command(ctx: typer.Context, run_id: RunId, json_output: JsonFlag = False) -> None:
    """A run: status, phase, counts, guidelines and verification figures."""
    run = workspace(ctx).alignment_runs.get(run_id)
    if json_output:
        print_json(run)
        return
    show_run(run)


@app.command("cancel")
def cancel(ctx: typer.Context, run_id: RunId, json_output: JsonFlag = False) -> None:
    """Cancel a run in flight; a finished run is left as it is."""
    rb = workspace(ctx)
    run = rb.alignment_runs.cancel(run_id)
    cancel_workflows(rb.settings, run.id)
    if json_output:
        print_json(run)
        return
    say(f"Run {run.id} is {run.status.label}.")


@app.command("retry")
def retry(
    ctx: typer.Context,
    run_id: RunId,
    wait: Annotated[bool, typer.Option("--wait", help="Carry it out here and wait.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Try an Error run again: its finished model calls are replayed, not paid again."""
    rb = workspace(ctx)
    run = rb.alignment_runs.retry(run_id)
    if wait:
        with phase_progress(quiet=json_output) as progress:
            run = rb.alignment_runs.run(run.id, progress=progress)
    else:
        enqueue(rb, "alignment", run.id, retry=True)
    if json_output:
        print_json(run)
    elif wait:
        show_run(run)
    else:
        say(queued_line(rb, run.id, "align"))


# -- printing ------------------------------------------------------------------------


@contextmanager
def phase_progress(*, quiet: bool = False) -> Iterator[ProgressCallback]:
    console = err()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    ) as bar:
        task = bar.add_task("Starting", total=None)

        def update(phase: Phase | None, done: int, total: int) -> None:
            label = phase.label if phase is not None else "Starting"
            bar.update(task, description=label, completed=done, total=total or None)

        yield update


def runs_table(metric: str, runs: list[AlignmentRun]) -> Table:
    grid = table(f"Alignment runs of {metric}", "Run", "Status", "Created", "Source evaluations")
    for run in runs:
        status = run.status.label
        if run.status is RunStatus.RUNNING and run.phase is not None:
            status = f"{status}: {run.phase.label} {run.progress_done}/{run.progress_total}"
        if run.accepted_version_id is not None:
            status += " (accepted)"
        add_row(grid, run.id, status, when(run.created_at), ", ".join(run.evaluations))
    if not runs:
        add_row(
            grid, f"none yet: rubricate align start --metric {metric} --evaluation E", "", "", ""
        )
    return grid


def show_preview(preview: AlignmentPreview) -> None:
    alpha = "n/a" if preview.reviewer_alpha is None else f"{preview.reviewer_alpha:.3f}"
    say(
        f"{preview.disagreements} disagreements at this threshold among {preview.rows_used} "
        f"usable rows ({preview.agreeing} agree; {preview.missing_judge} rows lack a judge "
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


def show_run(run: AlignmentRun) -> None:
    head = Text.assemble((f"Run {run.id}", "bold"), f" of {run.metric}: {run.status.label}")
    if run.phase is not None and not run.status.finished:
        head.append(f", {run.phase.label} ({run.progress_done}/{run.progress_total})")
    say(head)
    say(f"Source evaluations: {', '.join(run.evaluations)}; created {when(run.created_at)}.")
    if run.error:
        say(f"Error: {run.error}", "red")
    if run.result is not None:
        show_result(run.result)


def show_result(result: AlignmentResult) -> None:
    alpha = "n/a" if result.reviewer_alpha is None else f"{result.reviewer_alpha:.3f}"
    say(
        f"{result.disagreements} disagreements found, {result.agreeing_skipped} agreeing rows "
        f"skipped, {result.missing_judge + result.missing_human} rows skipped for missing data; "
        f"reviewer agreement (alpha) {alpha}."
    )
    if result.low_confidence:
        say("Low confidence: fewer than 10 disagreements.", "yellow")
    guidelines = result.effective_guidelines()
    say(Text(f"Guidelines ({result.engine}):", style="bold"))
    for g in guidelines:
        # the offline engine's text says its direction already
        label = g.direction.label if g.direction else ""
        direction = f" [{label}]" if label and label not in g.text else ""
        say(f"  {g.id}. {g.text}{direction} — rows {', '.join(map(str, g.row_ids[:8]))}")
    if not guidelines:
        say("  none")
    for note in result.notes:
        say(f"  note: {note}", "dim")
    v = result.verification
    say(Text.assemble(("Verification: ", "bold"), v.status, f". {v.message}"))
    if v.before is not None and v.after is not None:
        show(figures_table(v.before, v.after))
    u = result.usage
    say(
        f"Model calls: {u.reflection_calls} reflection, {u.judge_calls} judge "
        f"({u.cache_hits} cached, {u.reused_judge_results} stored results reused); "
        f"{u.input_tokens:,} + {u.output_tokens:,} tokens; cost {format_cost(u.cost_usd)}."
    )


def figures_table(before: AgreementFigures, after: AgreementFigures) -> Table:
    grid = table(f"Held-out test rows ({after.rows})", "Figure", "Before", "After")
    for name, label in (
        ("exact", "Exact agreement"),
        ("within_delta", "Within delta"),
        ("mae", "MAE"),
        ("kappa", "Weighted kappa"),
        ("spearman", "Spearman"),
    ):
        add_row(grid, label, _figure(getattr(before, name)), _figure(getattr(after, name)))
    return grid


def _figure(figure: object) -> str:
    value, low, high = (getattr(figure, k) for k in ("value", "low", "high"))
    if value is None:
        return "n/a"
    interval = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
    return f"{value:.3f}{interval}"


app.command("accept")(align_review.accept)
app.command("reject")(align_review.reject)
app.command("edit")(align_review.edit_guideline)
app.command("strike")(align_review.strike)
app.command("restore")(align_review.restore)
