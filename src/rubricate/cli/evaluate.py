"""`rubricate evaluate`: score an evaluation's rows with a judge model, and
`rubricate evaluation-runs ...`: list, show and cancel those runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from rubricate.cli._common import workspace
from rubricate.cli._output import (
    JsonFlag,
    counted,
    emit,
    listing,
    print_json,
    progress_bar,
    say,
    show,
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
from rubricate.models.cost import format_cost

if TYPE_CHECKING:  # the scoring service loads pydantic-ai: only when a command runs
    from rubricate import Rubricate
    from rubricate.domain.evaluation_runs import EvaluationRun
    from rubricate.service.evaluating import CostEstimate
    from rubricate.service.evaluating import Progress as ProgressCallback

app = typer.Typer(help="Evaluation runs: scorings of an evaluation by a judge model.")


def evaluate(
    ctx: typer.Context,
    metric: Annotated[
        str, typer.Option("--metric", "-m", help="NAME (its active version) or NAME@VERSION.")
    ],
    evaluation: Annotated[str, typer.Option("--evaluation", "-e", help="The evaluation to score.")],
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
    cache: CacheFlag = None,
    run_id: IdempotencyKey = None,
    max_calls: Annotated[
        int | None,
        typer.Option(
            "--max-calls",
            min=1,
            help="Stop the run after this many model calls (the rows scored are kept).",
        ),
    ] = None,
    max_cost_usd: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            help="Stop the run once it has spent this many dollars (a priced model only).",
        ),
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
        emit(estimate, json_output, lambda e: estimate_line(e, max_calls, max_cost_usd))
        return
    options = {
        "metric": metric,
        "evaluation": evaluation,
        "model": model,
        "temperature": temperature,
        "seed": seed,
        "run_id": run_id,
        "max_calls": max_calls,
        "max_cost_usd": max_cost_usd,
    }
    run = rb.evaluation_runs.start(**options)  # type: ignore[arg-type]
    if wait:
        score_here(rb, run, concurrency=concurrency, cache=cache, json_output=json_output)
    else:
        queue_started(rb, "evaluation", run, json_output=json_output)


def score_here(
    rb: Rubricate,
    run: EvaluationRun,
    *,
    concurrency: int | None = None,
    cache: bool | None = None,
    json_output: bool,
) -> None:
    """`evaluate --wait`, `evaluation-runs run` and `retry --wait`: the run carried out
    in this process, its rows on a bar, then reported."""
    with scoring_progress(run, quiet=json_output) as progress:
        run = rb.evaluation_runs.run(
            run.id, concurrency=concurrency, cache=cache, progress=progress
        )
    report_run(run, json_output=json_output)


def estimate_line(
    estimate: CostEstimate, max_calls: int | None = None, max_cost: float | None = None
) -> str:
    """The dry run's estimate, in calls, tokens and money, and where a cap would stop it."""
    line = (
        f"Scoring {counted(estimate.rows, 'row')} with {estimate.model} would send about "
        f"{estimate.input_tokens:,} prompt tokens and receive about "
        f"{estimate.output_tokens:,}: {format_cost(estimate.cost_usd)}. "
        f"That is {counted(estimate.calls, 'model call')}, one a row (fewer with cached replies)."
    )
    if max_calls is not None and max_calls < estimate.calls:
        line += f" --max-calls {max_calls} stops it after about {counted(max_calls, 'row')}."
    cost = estimate.cost_usd
    if max_cost is not None and cost is not None and max_cost < cost:
        rows = int(estimate.rows * max_cost / cost)
        line += f" --max-cost {max_cost:g} stops it after about {counted(rows, 'row')}."
    return line


def report_run(run: EvaluationRun, *, json_output: bool) -> None:
    """A run as JSON for scripts, or its one-paragraph summary for people."""
    emit(run, json_output, run_summary)


def run_summary(run: EvaluationRun) -> Text:
    scored = f"{run.rows_scored} of {counted(run.rows_total, 'row')} scored"
    failed = (
        f", {run.rows_failed} failed (see `rubricate evaluation-runs errors {run.id}`)"
        if run.rows_failed
        else ""
    )
    calls = f"{counted(run.calls, 'model call')}, {run.cache_hits} from the cache"
    tokens = f"{run.input_tokens:,} + {run.output_tokens:,} tokens"
    return Text.assemble(
        (f"Run {run.id}: {run.status.label}. ", "bold"),
        f"{scored}{failed}; {calls}; {tokens}; cost {format_cost(run.cost_usd)}.",
    )


@contextmanager
def scoring_progress(run: EvaluationRun, *, quiet: bool = False) -> Iterator[ProgressCallback]:
    with progress_bar(f"Scoring with {run.model}", time_left=True, quiet=quiet) as bar:
        task = bar.add_task("rows", total=run.rows_total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@app.command("list")
def list_runs(
    ctx: typer.Context,
    evaluation: Annotated[
        str | None, typer.Option("--evaluation", "-e", help="Only this evaluation's runs.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """List evaluation runs, newest first."""
    emit(workspace(ctx).evaluation_runs.list(evaluation), json_output, runs_table)


def runs_table(runs: list[EvaluationRun]) -> Table:
    columns = ("Rows", "Failed", "Calls", "Cost")
    rows = [
        (
            r.id,
            r.status.label,
            r.model,
            f"{r.rows_done}/{r.rows_total}",
            r.rows_failed,
            r.calls,
            format_cost(r.cost_usd),
            when(r.created_at),
        )
        for r in runs
    ]
    return listing(
        "Evaluation runs",
        ("Run", "Status", "Model", *columns, "Created"),
        rows,
        numeric=columns,
        empty="none yet: rubricate evaluate --metric M --evaluation E",
    )


@app.command("show")
def show_run(ctx: typer.Context, run_id: RunId, json_output: JsonFlag = False) -> None:
    """Show one evaluation run: status, counts, tokens and cost."""
    run = workspace(ctx).evaluation_runs.get(run_id)
    report_run(run, json_output=json_output)
    if run.error and not json_output:
        say(f"Error: {run.error}", "red")


@app.command("errors")
def row_errors(
    ctx: typer.Context,
    run_id: RunId,
    limit: Annotated[int, typer.Option("--limit", help="At most this many rows.")] = 50,
    json_output: JsonFlag = False,
) -> None:
    """The rows a run could not score, with each one's error, in the evaluation's order."""
    errors, total = workspace(ctx).evaluation_runs.errors(run_id, limit=limit)
    if json_output:
        print_json({"rows": errors, "total": total})
        return
    title = f"Rows run {run_id} could not score"
    rows = [(e.row, e.error) for e in errors]
    show(listing(title, ("Row", "Error"), rows, empty="none: every row was scored"))
    if total > len(errors):
        say(f"… and {counted(total - len(errors), 'more row')} (--limit {total} lists them all).")


app.command("cancel")(
    cancel_command("evaluation", "Cancel a run; cancelling a finished run changes nothing.")
)


@app.command("run")
def run_here(ctx: typer.Context, run_id: RunId, json_output: JsonFlag = False) -> None:
    """Carry out a Pending (or interrupted) run in this process and wait for it."""
    rb = workspace(ctx)
    score_here(rb, rb.evaluation_runs.get(run_id), json_output=json_output)


def _retry_here(rb: Rubricate, run_id: str, json_output: bool) -> None:
    score_here(rb, rb.evaluation_runs.retry(run_id), json_output=json_output)


app.command("retry")(
    retry_command(
        "evaluation",
        _retry_here,
        "Try an Error run again: rows already scored are kept, finished calls replayed.",
    )
)
