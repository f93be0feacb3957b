"""`rubricate evaluations ...`: list, show (per-metric coverage) and rows."""

from __future__ import annotations

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
    say,
    show,
    when,
)
from rubricate.cli._params import command_group, name_argument

if TYPE_CHECKING:
    from rubricate.domain.evaluations import Evaluation
    from rubricate.service.evaluations import EvaluationDetail

app = command_group("Evaluations: rows scored by judge metrics and annotated by reviewers.")

Name = Annotated[str, name_argument("evaluation")]


@app.command("list")
def list_evaluations(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """List every evaluation: source, rows, whether it is completed, when it was created."""
    emit(workspace(ctx).evaluations.list(), json_output, evaluations_table)


def evaluations_table(evaluations: list[Evaluation]) -> Table:
    return listing(
        "Evaluations",
        ("Name", "Source", "Rows", "Completed", "Created"),
        [(e.name, e.source.value, e.row_count, _done(e), when(e.created_at)) for e in evaluations],
        numeric=["Rows"],
        empty="none yet: rubricate import PATH --evaluation NAME",
    )


def _done(evaluation: Evaluation) -> str:
    return "yes" if evaluation.completed else f"no ({evaluation.scoring_in_progress} scoring)"


@app.command("show")
def show_evaluation(ctx: typer.Context, name: Name, json_output: JsonFlag = False) -> None:
    """Show an evaluation and, for each metric, how many rows are annotated, resolved and
    judged."""
    detail = workspace(ctx).evaluations.show(name)
    if json_output:
        print_json(detail)
        return
    e = detail.evaluation
    say(Text.assemble((e.name, "bold"), f" ({e.source.value}, created {when(e.created_at)})"))
    if e.description:
        say(e.description)
    state = "completed" if e.completed else f"{e.scoring_in_progress} scoring still under way"
    say(f"{counted(e.row_count, 'row')}, {state}.")
    show(coverage_table(detail))


def coverage_table(detail: EvaluationDetail) -> Table:
    columns = ("Annotated", "Annotations", "Reviewers", "Resolved", "Judged")
    title = f"Metrics on {detail.evaluation.name} (annotated, resolved and judged: rows)"
    rows = [
        (c.metric, c.annotated_rows, c.annotations, c.reviewers, c.resolved_rows, c.judged_rows)
        for c in detail.metrics
    ]
    return listing(title, ("Metric", *columns), rows, numeric=columns)


@app.command("rows")
def list_rows(
    ctx: typer.Context,
    name: Name,
    offset: Annotated[int, typer.Option(min=0, help="Rows to skip.")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Rows to show.")] = 20,
    json_output: JsonFlag = False,
) -> None:
    """Show an evaluation's rows, page by page, in their imported order."""
    rows = workspace(ctx).evaluations.rows(name, offset=offset, limit=limit)
    if json_output:
        print_json(rows)
        return
    if not rows:
        say(f"{name} has no rows after the first {offset}." if offset else f"{name} has no rows.")
        return
    title = f"Rows {offset + 1}–{offset + len(rows)} of {name}"
    cells = [(row.external_id, _short(row.input), _short(row.output)) for row in rows]
    show(listing(title, ("Id", "Input", "Output"), cells))
    if len(rows) == limit:
        say(f"More: --offset {offset + limit}", style="dim")


def _short(text: str, width: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
