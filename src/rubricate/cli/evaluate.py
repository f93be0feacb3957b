"""`rubricate evaluate`: score an evaluation's rows with a judge model, and
`rubricate evaluation-runs ...`: list, show and cancel those runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from rubricate.cli._common import workspace
from rubricate.cli._output import JsonFlag, add_row, err, print_json, say, show, table, when
from rubricate.cli._queue import cancel_workflows, enqueue, queued_line
from rubricate.domain.evaluation_runs import EvaluationRun
from rubricate.models.cost import format_cost
from rubricate.service.evaluating import CostEstimate
from rubricate.service.evaluating import Progress as ProgressCallback

app = typer.Typer(help="Evaluation runs: scorings of an evaluation by a judge model.")

RunId = Annotated[str, typer.Argument(help="The run's id.", show_default=False)]


def evaluate(
    ctx: typer.Context,
    metric: Annotated[
        str, typer.Option("--metric", help="NAME (its active version) or NAME@VERSION.")
    ],
    evaluation: Annotated[str, typer.Option("--evaluation", help="The evaluation to score.")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="provider:model, e.g. openai:gpt-4.1-mini. Default: the metric's judge "
            "model, else RUBRICATE_JUDGE_MODEL.",
        ),
    ] = None,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Seed, for providers that take one.")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=1024, help="Calls in flight. Default: the provider's setting."),
    ] = None,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="Reuse identical earlier calls.")
    ] = True,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Idempotency key: the same id, one run.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only estimate tokens and cost; call no model.")
    ] = False,
    wait: Annotated[
        bool,
        typer.Option("--wait/--no-wait", help="Score here and wait, or queue it for a worker."),
    ] = True,
    json_output: JsonFlag = False,
) -> None:
    """Score every row of an evaluation with a metric and a judge model. Results of earlier
    runs (and of other metric versions) are kept."""
    rb = workspace(ctx)
    if dry_run:
        estimate = rb.evaluation_runs.estimate(metric=metric, evaluation=evaluation, model=model)
        if json_output:
            print_json(estimate)
        else:
            say(estimate_line(estimate))
        return
    run = rb.evaluation_runs.start(
        metric=metric,
        evaluation=evaluation,
        model=model,
        temperature=temperature,
        seed=seed,
        run_id=run_id,
    )
    if not wait:
        enqueue(rb, "evaluation", run.id)
        if json_output:
            print_json(run)
        else:
            say(queued_line(rb, run.id, "evaluation-runs"))
        return
    with scoring_progress(run, quiet=json_output) as progress:
        run = rb.evaluation_runs.run(
            run.id, concurrency=concurrency, cache=cache, progress=progress
        )
    if json_output:
        print_json(run)
        return
    say(run_summary(run))


def estimate_line(estimate: CostEstimate) -> str:
    return (
        f"Scoring {estimate.rows} rows with {estimate.model} would send about "
        f"{estimate.input_tokens:,} prompt tokens and receive about "
        f"{estimate.output_tokens:,}: {format_cost(estimate.cost_usd)}."
    )


def run_summary(run: EvaluationRun) -> Text:
    scored = f"{run.rows_scored} of {run.rows_total} rows scored"
    failed = f", {run.rows_failed} failed (see the rows' errors)" if run.rows_failed else ""
    calls = f"{run.calls} model calls, {run.cache_hits} from the cache"
    tokens = f"{run.input_tokens:,} + {run.output_tokens:,} tokens"
    return Text.assemble(
        (f"Run {run.id}: {run.status.label}. ", "bold"),
        f"{scored}{failed}; {calls}; {tokens}; cost {format_cost(run.cost_usd)}.",
    )


@contextmanager
def scoring_progress(run: EvaluationRun, *, quiet: bool = False) -> Iterator[ProgressCallback]:
    console = err()
    with Progress(
        TextColumn(f"Scoring with {run.model}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    ) as bar:
        task = bar.add_task("rows", total=run.rows_total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@app.command("list")
def list_runs(
    ctx: typer.Context,
    evaluation: Annotated[
        str | None, typer.Option("--evaluation", help="Only this evaluation's runs.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """List evaluation runs, newest first."""
    runs = workspace(ctx).evaluation_runs.list(evaluation)
    if json_output:
        print_json(runs)
        return
    show(runs_table(runs))


def runs_table(runs: list[EvaluationRun]) -> Table:
    columns = ("Rows", "Failed", "Calls", "Cost")
    grid = table("Evaluation runs", "Run", "Status", "Model", *columns, "Created", numeric=columns)
    for r in runs:
        rows = f"{r.rows_done}/{r.rows_total}"
        cost = format_cost(r.cost_usd)
        add_row(
            grid,
            r.id,
            r.status.label,
            r.model,
            rows,
            r.rows_failed,
            r.calls,
            cost,
            when(r.created_at),
        )
    if not runs:
        add_row(grid, "none yet: rubricate evaluate --metric M --evaluation E", *[""] * 7)
    return grid


@app.command("show")
def show_run(ctx: typer.Context, run_id: RunId, json_output: JsonFlag = False) -> None:
    """Show one evaluation run: status, counts, tokens and cost."""
    run = workspace(ctx).evaluation_runs.get(run_id)
    if json_output:
        print_json(run)
        return
    say(run_summary(run))
    if run.error:
        say(f"Error: {run.error}", "red")


@app.command("cancel")
def cancel_run(ctx: typer.Context, run_id: RunId, json_output: JsonFlag = False) -> None:
    """Cancel a run; cancelling a finished run changes nothing."""
    rb = workspace(ctx)
    run = rb.evaluation_runs.cancel(run_id)
    cancel_workflows(rb.settings, run.id)
    if json_output:
        print_json(run)
        return
    say(f"Run {run.id} is {run.status.label}.")


@app.command("run")
def run_here(ctx: typer.Context, run_id: RunId, json_output: JsonFlag = False) -> None:
    """Carry out a Pending (or interrupted) run in this process and wait for it."""
    rb = workspace(ctx)
    run = rb.evaluation_runs.get(run_id)
    with scoring_progress(run, quiet=json_output) as progress:
        run = rb.evaluation_runs.run(run_id, progress=progress)
    if json_output:
        print_json(run)
        return
    say(run_summary(run))


@app.command("retry")
def retry(
    ctx: typer.Context,
    run_id: RunId,
    wait: Annotated[bool, typer.Option("--wait", help="Carry it out here and wait.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Try an Error run again: rows already scored are kept, finished calls replayed."""
    rb = workspace(ctx)
    run = rb.evaluation_runs.retry(run_id)
    if wait:
        with scoring_progress(run, quiet=json_output) as progress:
            run = rb.evaluation_runs.run(run.id, progress=progress)
    else:
        enqueue(rb, "evaluation", run.id, retry=True)
    if json_output:
        print_json(run)
    elif wait:
        say(run_summary(run))
    else:
        say(queued_line(rb, run.id, "evaluation-runs"))
